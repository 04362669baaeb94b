export * from './errors.js';
export * from './fields.js';
export * from './dialect.js';
export * from './codec.js';
export * from './frame.js';
export * from './tlv.js';
export * from './messages.js';
