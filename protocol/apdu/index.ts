export * from './command.js';
export * from './response.js';
export * from './status-words.js';
export * from './chaining.js';
export * from './exchange.js';
