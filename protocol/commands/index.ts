export * from './application.js';
export * from './command-codes.js';
export * from './messages.js';
export * from './block-card.js';
export * from './pin.js';
export * from './pin-policy.js';
export * from './card-client.js';
export * from './personalize.js';
