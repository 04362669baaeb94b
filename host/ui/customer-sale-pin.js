// A sale's PIN typed on the customer display's keypad (issue 15, shared with the PIN service): while
// the sale asks for its PIN and the reader has no PIN pad of its own, the keypad is open; OK sends
// the digits in POST /api/v1/sales/:id/pin with this display's cookie. The sale's next snapshot (a
// wrong PIN and the tries left, or signing) reopens or closes the keypad. The prompt above it
// (customer.js) says what to do and how many tries are left.
import { api, errorOf } from './common.js';
import { keypad } from './customer-keypad.js';

let sale = null; // the last snapshot seen
let sent = null; // {saleId, updatedAt}: the snapshot a PIN was sent for, until the next one comes
let openFor = null; // the saleId the keypad is open for

const LABEL = { zh: '密码', en: 'PIN' };

function asksHere(s) {
  return !!s && s.state === 'pin' && !s.pinOnDevice;
}

async function send(pin) {
  const s = sale;
  if (!asksHere(s)) return;
  sent = { saleId: s.saleId, updatedAt: s.updatedAt };
  const answer = await api('POST', '/api/v1/sales/' + encodeURIComponent(s.saleId) + '/pin', { pin });
  if (answer.status === 202) return; // the sale's next snapshot says how it went
  // A newer snapshot came meanwhile and reopened (or closed) the keypad: that one stands.
  if (!sent || sent.saleId !== s.saleId || sent.updatedAt !== s.updatedAt) return;
  sent = null;
  const e = errorOf(answer);
  keypad.refused(
    e.code === 'PIN_FORMAT'
      ? { zh: '密码是 4 到 12 位数字，请重新输入', en: 'A PIN is 4 to 12 digits — please type it again' }
      : { zh: '没有发送成功，请重新输入', en: 'That did not go through — please type the PIN again' },
  );
}

/** Called by customer.js with each sale it shows (or null). */
export function salePin(s) {
  sale = s;
  if (!asksHere(s)) {
    sent = null;
    openFor = null;
    keypad.close('sale');
    return;
  }
  if (keypad.owner === 'service') return; // the PIN service has the keypad; the sale waits for it
  if (keypad.owner === 'sale' && openFor === s.saleId) {
    // Nothing sent yet (keep what is being typed), or still the snapshot the PIN was sent for ("checking").
    if (!sent || sent.updatedAt >= s.updatedAt) return keypad.relabel();
  }
  // First time, or the answer to the PIN sent (wrong: type it again): an empty keypad.
  sent = null;
  openFor = s.saleId;
  keypad.open('sale', { min: 4, max: 12, label: LABEL, onSubmit: send });
}

document.addEventListener('cardpost:keypad-free', () => {
  if (keypad.owner === null && asksHere(sale)) salePin(sale);
});
