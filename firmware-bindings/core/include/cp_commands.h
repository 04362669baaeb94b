/*
 * cardpost firmware: the CBOR command set and the ISO PIN commands, as the card executes them
 * (docs/protocol.md §4, §6; the TypeScript reference is device-sim/card/card-commands.ts).
 *
 * The APDU layer (cp_card.c) calls these after it has framed the command: it strips the command
 * byte from the CBOR INS data and hands over the rest; for the ISO PIN commands it decodes the
 * ISO 9564 format 2 PIN blocks first. Everything behind this header reads and writes the store
 * only in whole transactions (one per command; the PIN check spends its try in one more, §6.2).
 *
 * Results: CP_POWER_LOST from the store is returned unchanged and nothing else is touched (the
 * card is dead until power-on). Every other failure (a malformed request, a store that is full or
 * corrupt, a refused crypto call) is an answer: a status byte, as the TypeScript card gives one.
 */
#ifndef CP_COMMANDS_H
#define CP_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "cp_cmd_session.h"
#include "cp_card.h"
#include "cp_hal.h"
#include "cp_store.h"

/* Life cycle values (docs/protocol.md §6.1). */
#define CP_LC_BLANK 0u
#define CP_LC_PERSONALISED 1u
#define CP_LC_ACTIVE 2u
#define CP_LC_PIN_BLOCKED 3u
#define CP_LC_TERMINATED 4u
#define CP_LC_BLOCKED 5u

/* Smallest `out` capacity cp_commands_run accepts: the largest response it builds. */
#define CP_COMMANDS_MIN_OUT (CP_CARD_MAX_MESSAGE + 64u)

/* Volatile session state: cleared by power-off, reset and SELECT. */
void cp_commands_session_clear(cp_cmd_session *sess);

/*
 * One CBOR command. `params`/`params_len`: the bytes after the command byte (params_len 0: no map,
 * as decodeCommandData gives `undefined`). This function checks that they are one canonical CBOR
 * item (else INVALID_CBOR) and a map (else INVALID_PARAMETER), so the caller does not.
 * `out` receives the response data exactly as encodeResponseData (protocol/commands/messages.ts):
 * status byte || optional canonical CBOR map; *out_len its length. cap >= CP_COMMANDS_MIN_OUT.
 * The caller checks MESSAGE_TOO_LONG (data longer than max_message_size) before calling.
 * `cfg`: max_message_size and journal_capacity are read (0 means the default 2048 / 32).
 * Returns CP_OK (the answer is in out), CP_POWER_LOST, or CP_BAD_ARG (NULL pointers, cap too small).
 */
cp_result cp_commands_run(cp_store *s, const cp_hal *hal, cp_cmd_session *sess, const cp_card_config *cfg,
                          uint8_t command, const uint8_t *params, size_t params_len, uint8_t *out, size_t cap,
                          size_t *out_len);

/*
 * ISO VERIFY (INS 20) / CHANGE REFERENCE DATA (24) / RESET RETRY COUNTER (2C) after the APDU layer
 * has checked CLA, P1/P2 and Lc and decoded the PIN blocks into ASCII digits: pins[i][0..pin_lens[i])
 * for i < n_blocks (VERIFY: 0 or 1 block; the others: 2 — old/new PIN, or PUK/new PIN).
 * Returns the status word exactly as CardCommands.isoPin (9000, 63Cx, 6983, 6A80, 6985).
 * *res: CP_OK, or CP_POWER_LOST (then ignore the status word: the card is dead).
 */
uint16_t cp_commands_iso_pin(cp_store *s, const cp_hal *hal, cp_cmd_session *sess, uint8_t ins,
                             const uint8_t pins[2][12], const uint8_t pin_lens[2], size_t n_blocks, cp_result *res);

/*
 * The life cycle SELECT and GET_INFO report (effectiveLifecycle in card-state.ts): a personalised
 * or active card whose PUK tries read 0 is terminated, whose PIN tries read 0 is PIN-blocked.
 * Returns CP_OK or CP_POWER_LOST; a state it cannot read counts as the fail-closed value.
 */
cp_result cp_commands_lifecycle(cp_store *s, uint8_t *lifecycle);

#endif
