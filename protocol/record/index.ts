export * from './envelope.js';
export * from './hash.js';
export * from './txn-record.js';
export * from './certificate.js';
export * from './trust-store.js';
export * from './revocation-list.js';
export * from './topup-token.js';
export * from './block-order.js';
