export * from './application.js';
export * from './command-codes.js';
export * from './messages.js';
export * from './pin.js';
export * from './card-client.js';
export * from './personalize.js';
