/**
 * The cardpost USB HID card key's identity and link timing (docs/protocol.md §11.10–§11.12): values
 * both the host transport and a key (or the simulated key) must agree on. Pure constants.
 */

/**
 * Vendor-defined usage page and usage of the key's HID interface. Deliberately NOT the FIDO page
 * 0xF1D0: the key speaks CTAPHID-style packets but is no FIDO authenticator, and browsers and OS
 * FIDO stacks would otherwise claim it and send it CTAP commands. Hosts find keys by this pair.
 */
export const CARDPOST_HID_USAGE_PAGE = 0xff43;
export const CARDPOST_HID_USAGE = 0x01;

/** USB ids of the simulated key: pid.codes' open-source VID with its test PID (real keys have their own). */
export const SIM_HID_VENDOR_ID = 0x1209;
export const SIM_HID_PRODUCT_ID = 0x0001;

/** A key sends KEEPALIVE on the busy channel at this cadence while the card works (as CTAPHID). */
export const HID_KEEPALIVE_INTERVAL_MS = 100;

/** Host: with no packet at all on its channel for this long (no answer, no keepalive), the command times out. */
export const HID_RESPONSE_TIMEOUT_MS = 1000;

/** Host: keepalives extend the wait, but never beyond this much per command. */
export const HID_MAX_PROCESSING_MS = 30_000;

/** Host: CHANNEL_BUSY is retried with backoff for at most this long per command. */
export const HID_BUSY_RETRY_MS = 5000;

/** Host: first and largest backoff between CHANNEL_BUSY retries (doubling, with jitter). */
export const HID_BUSY_BACKOFF_MIN_MS = 10;
export const HID_BUSY_BACKOFF_MAX_MS = 200;
