// Event → message (pure): French, dated in Paris time, with no medical content.
import t from 'tap';
import { BadNotification, notificationOutbox, parseNotification, renderMessage } from '../../src/notify/index.ts';
import type { NotificationEvent } from '../../src/notify/index.ts';

const at = '2025-03-03T13:05:00Z';

t.test('a document added is told without saying which document', async (t) => {
  const mail = renderMessage({ kind: 'document-added', patientId: 'p1', at }, 'email', { portalUrl: 'https://portail.example/' });
  t.equal(mail.subject, 'Un document a été ajouté à votre dossier');
  t.match(mail.text, 'Un document a été ajouté à votre dossier le 3 mars 2025 à 14:05.');
  t.match(mail.text, 'https://portail.example/documents');
});

t.test('dates are written in Paris time', async (t) => {
  const sms = renderMessage({ kind: 'dossier-closed', patientId: 'p1', at: '2025-07-01T22:30:00Z' }, 'sms');
  t.match(sms.text, 'le 02/07/2025 à 00:30');
});

t.test('a common profession is named, a revealing one is not', async (t) => {
  const doctor = renderMessage({ kind: 'first-access', patientId: 'p1', at, profession: '10' }, 'email');
  t.match(doctor.text, 'Un médecin a consulté votre dossier pour la première fois');
  const midwife = renderMessage({ kind: 'first-access', patientId: 'p1', at, profession: '50' }, 'email');
  t.match(midwife.text, 'Un professionnel de santé a consulté votre dossier');
  t.notMatch(midwife.text, /sage-femme/i);
});

t.test('an SMS is one short line', async (t) => {
  const kinds: NotificationEvent[] = [
    { kind: 'document-added', patientId: 'p1', at },
    { kind: 'first-access', patientId: 'p1', at, profession: '21' },
    { kind: 'break-the-glass', patientId: 'p1', at, profession: '10' },
    { kind: 'emergency-call', patientId: 'p1', at },
    { kind: 'dossier-created', patientId: 'p1', at },
    { kind: 'dossier-closed', patientId: 'p1', at },
    { kind: 'dossier-reactivated', patientId: 'p1', at },
    { kind: 'credentials-reset', patientId: 'p1', at },
    { kind: 'otp', channel: 'sms', to: '+33600000000', code: '123456' },
  ];
  for (const event of kinds) {
    const sms = renderMessage(event, 'sms');
    t.notMatch(sms.text, /\n/, event.kind);
    t.ok(sms.text.length <= 160, `${event.kind}: ${sms.text.length} characters`);
  }
});

t.test('fields a producer should not have sent never reach the message', async (t) => {
  const event = parseNotification('document-added', { patientId: 'p1', at, title: 'Compte rendu oncologie', diagnosis: 'Lymphome' });
  const text = JSON.stringify([renderMessage(event, 'email'), renderMessage(event, 'sms')]);
  t.notMatch(text, /oncologie|Lymphome/);
});

t.test('a one-time code is the only content of its message', async (t) => {
  const sms = renderMessage({ kind: 'otp', channel: 'sms', to: '+33600000000', code: '482913', expiresInMinutes: 5 }, 'sms');
  t.equal(sms.text, 'Votre code de connexion Carnet : 482913. Il est valable 5 minutes. Ne le communiquez à personne.');
});

t.test('an unknown topic or a payload without its patient is refused', async (t) => {
  t.throws(() => parseNotification('document-deleted', { patientId: 'p1', at }), BadNotification);
  t.throws(() => parseNotification('document-added', { at }), BadNotification);
  t.throws(() => parseNotification('otp', { channel: 'pigeon', to: 'x', code: '1' }), BadNotification);
});

t.test('the outbox message of an event is its topic and payload, with an explicit recipient when given', async (t) => {
  t.same(notificationOutbox({ kind: 'dossier-created', patientId: 'p1', at }, { channel: 'email', to: 'a@example.org' }), {
    topic: 'dossier-created',
    payload: { patientId: 'p1', at, channel: 'email', to: 'a@example.org' },
  });
});
