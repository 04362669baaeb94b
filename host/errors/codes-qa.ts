import type { ErrorDef } from './types.js';
import { def } from './codes-def.js';

/**
 * The QA runner (`cardpost qa run`, `qa soak`; device-sim/qa): scenario files, the stack it brings up
 * and the reports it writes. Never an HTTP answer: the runner's own exit codes (docs/qa.md).
 */
export const QA: Record<string, ErrorDef> = {
  QA_REPORT_WRITE_FAILED: def(
    null,
    'unavailable',
    'write the reports to a directory this user may write to and that has free space (--out DIR)',
  ),
  QA_REPORT_FORMAT: def(
    null,
    'bad-input',
    'give the steps.json a `cardpost qa run` wrote (same cardpost version), unedited',
  ),
  SIM_HID_NOT_LOOPBACK: def(
    null,
    'bad-input',
    'give the simulated HID key endpoint a loopback address (127.0.0.1:PORT or [::1]:PORT): it is for QA on this machine only',
  ),
  SIM_HID_ENDPOINT_USAGE: def(
    null,
    'bad-input',
    'serve at most 8 keys, and call listen() once per endpoint (make a new SimHidEndpoint after close())',
  ),
  HID_ENDPOINT_FRAME_LENGTH: def(
    null,
    'fault',
    'the simulated HID key endpoint sent a frame of length 0 or over 8192: use a cardpost sim hid of the same version (protocol §11.13)',
  ),
  HID_ENDPOINT_BAD_MESSAGE: def(
    null,
    'fault',
    'the simulated HID key endpoint sent a message that is not protocol §11.13: use a cardpost sim hid of the same version',
  ),
  QA_STACK_FAILED: def(
    null,
    'unavailable',
    'a part of the QA stack did not come up (the message names it): check that part (pcscd, socat, the daemon, chromium) and run again; --keep keeps its directory and logs',
  ),
  QA_SYSTEM_MISSING: def(
    null,
    'unavailable',
    'install what the message names (apt-get install pcscd vsmartcard-vpcd libpcsclite-dev socat chromium), or drop the readers that need it from the scenario',
  ),
  QA_DISPLAY_UNAVAILABLE: def(
    null,
    'unavailable',
    'install chromium (apt-get install chromium) and the dev dependencies (npm ci), and set devices.display: true in a scenario that takes screenshots',
  ),
  QA_DEVICES_INVALID: def(
    null,
    'bad-input',
    "fix the scenario's devices: at most 2 pcsc readers, a HID key with its card, each card in one reader at most, only cards the scenario lists",
  ),
  QA_SCENARIO_INVALID: def(
    null,
    'bad-input',
    'fix the scenario file at the line and field the message names (docs/qa.md lists every step and expectation; editors check it with scenarios/scenario.schema.json)',
  ),
  QA_INTERRUPTED: def(
    null,
    'unavailable',
    'the run was stopped (Ctrl-C or SIGTERM): the reports hold what ran; run it again to finish',
  ),
  QA_DAEMON_ANSWER: def(
    null,
    'fault',
    "the daemon answered a step without an error code (401 or 5xx): read the daemon's lines in the report's timeline, and run with --keep to keep its data directory",
  ),
  QA_RUNNER_FAILED: def(
    null,
    'fault',
    'the QA runner itself broke on a step: report it with the steps.json of the run',
  ),
  QA_INVARIANTS_UNREADABLE: def(
    null,
    'unavailable',
    "the daemon's queue, export or top-ups could not be read: the daemon must be running; read its log lines in the report",
  ),
  QA_SOAK_OPTIONS_INVALID: def(null, 'bad-input', 'fix the option the message names (cardpost qa soak --help)'),
  QA_SOAK_DAEMON_GONE: def(
    null,
    'unavailable',
    'the daemon did not answer within 60 s after a restart: read its last lines in soak.json and run again with --seed to replay',
  ),
  QA_SOAK_FAILED: def(null, 'fault', 'the soak itself broke: report it with its soak.json and seed'),
};
