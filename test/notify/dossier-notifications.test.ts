// The dossier's notifications end to end: the app writes them in the commit of each change, the
// worker sends them through a real SMTP server and a local HTTP SMS gateway, to the addresses
// the dossier's holders sign in with.
import t from 'tap';
import { NotificationWorker, SmsGatewaySender, SmtpSender } from '../../src/notify/index.ts';
import { createParams, openApp, out, outAll, type OpenApp } from '../dossier/support.ts';
import { startSmsGateway, startSmtp, type SmsPeer, type SmtpPeer } from './peers.ts';

const TOKEN = 'gateway-token';
let api: OpenApp;
let smtp: SmtpPeer;
let sms: SmsPeer;
let worker: NotificationWorker;

t.before(async () => {
  [api, smtp, sms] = await Promise.all([openApp(), startSmtp(), startSmsGateway(TOKEN)]);
  worker = new NotificationWorker({
    store: api.store,
    senders: {
      email: new SmtpSender({ host: '127.0.0.1', port: smtp.port, security: 'none', from: 'Carnet <ne-pas-repondre@carnet.example>', timeoutMs: 5000 }),
      sms: new SmsGatewaySender({ url: sms.url, token: TOKEN, timeoutMs: 5000 }),
    },
    resolveRecipients: api.app.carnet.recipients,
    pollMs: 50,
  });
  worker.start();
});
t.teardown(async () => {
  await worker.stop();
  await Promise.all([api.close(), smtp.close(), sms.close()]);
});

async function createDossier(contact: { email?: string; mobile?: string }): Promise<{ patientId: string; login: string }> {
  const params = createParams({ channel: 'pharmacy', email: contact.email ?? '' });
  if (contact.mobile) {
    params.parameter = params.parameter.filter((p: { name: string }) => p.name !== 'email');
    params.parameter.push({ name: 'mobile', valueString: contact.mobile });
  }
  const r = await api.call('POST', '/fhir/Patient/$create-dossier', params);
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.raw}`);
  return { patientId: String(out(r.body, 'patient').reference).replace('Patient/', ''), login: outAll(r.body, 'credentials')[0].login };
}

function mailsTo(address: string) {
  return smtp.mails.filter((m) => m.to === address);
}

async function waitForMails(address: string, n: number): Promise<string[]> {
  const end = Date.now() + 15_000;
  while (mailsTo(address).length < n) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${n} mails to ${address}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return mailsTo(address).map((m) => m.subject);
}

t.test('the patient receives an e-mail saying their dossier was created', async (t) => {
  await createDossier({ email: 'created@example.org' });
  t.same(await waitForMails('created@example.org', 1), ['Votre dossier médical partagé a été créé']);
});

t.test('closing a dossier sends its holder an e-mail that carries no medical content', async (t) => {
  const { patientId } = await createDossier({ email: 'closed@example.org' });
  await waitForMails('closed@example.org', 1);
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$close`)).status, 200);
  const subjects = await waitForMails('closed@example.org', 2);
  t.equal(subjects[1], 'Votre dossier a été fermé');
  const text = mailsTo('closed@example.org')[1].text;
  t.match(text, /conservées dix ans/);
  t.notMatch(text, /DOSSIER|Léa|patient-request/, 'no name, no reason');
});

t.test('a reactivated dossier is announced by SMS to a holder who signs in by phone', async (t) => {
  const { patientId } = await createDossier({ mobile: '+33600000042' });
  await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`);
  const end = Date.now() + 15_000;
  while (!sms.received.some((m) => m.to === '+33600000042' && /réactivé/.test(m.text))) {
    if (Date.now() > end) throw new Error('timed out waiting for the reactivation SMS');
    await new Promise((r) => setTimeout(r, 20));
  }
  const texts = sms.received.filter((m) => m.to === '+33600000042').map((m) => m.text);
  t.equal(texts.length, 3, 'created, closed, reactivated: one SMS each');
});

t.test('the holder is told by e-mail when the desk resets their credentials', async (t) => {
  const { patientId, login } = await createDossier({ email: 'reset@example.org' });
  await waitForMails('reset@example.org', 1);
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$reset-credentials`, { resourceType: 'Parameters', parameter: [{ name: 'login', valueString: login }, { name: 'identityCheck', valueCode: 'in-person' }] });
  t.equal(r.status, 200);
  const subjects = await waitForMails('reset@example.org', 2);
  t.equal(subjects[1], 'Vos identifiants de connexion ont été réinitialisés');
  t.notMatch(mailsTo('reset@example.org')[1].text, new RegExp(out(r.body, 'initialPassword')), 'never the new password');
});

// ---- the patient's choice of channels -------------------------------------------------------------

const channels = (body: { parameter?: { name: string; valueCode?: string }[] }) => (body.parameter ?? []).filter((p) => p.name === 'channel').map((p) => p.valueCode);

const choose = (patientId: string, parameter: Record<string, unknown>[]) =>
  api.call('POST', `/fhir/Patient/${patientId}/$notification-preferences`, { resourceType: 'Parameters', parameter });

async function waitForSms(to: string, pattern: RegExp): Promise<string[]> {
  const end = Date.now() + 15_000;
  while (!sms.received.some((m) => m.to === to && pattern.test(m.text))) {
    if (Date.now() > end) throw new Error(`timed out waiting for an SMS to ${to}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return sms.received.filter((m) => m.to === to).map((m) => m.text);
}

t.test('a patient who chooses SMS is told by SMS at the number they gave, and no longer by e-mail', async (t) => {
  const { patientId } = await createDossier({ email: 'chooses-sms@example.org' });
  await waitForMails('chooses-sms@example.org', 1);
  const r = await choose(patientId, [{ name: 'channel', valueCode: 'sms' }, { name: 'phone', valueString: '+33600000077' }]);
  t.equal(r.status, 200, r.raw);
  t.same(channels(r.body), ['sms']);
  t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$close`)).status, 200);
  t.match((await waitForSms('+33600000077', /fermé/))[0], /fermé/);
  t.equal(mailsTo('chooses-sms@example.org').length, 1, 'only the creation e-mail, sent before the choice');
});

t.test('a patient may choose both channels', async (t) => {
  const { patientId } = await createDossier({ email: 'both@example.org' });
  await waitForMails('both@example.org', 1);
  t.equal((await choose(patientId, [{ name: 'channel', valueCode: 'email' }, { name: 'channel', valueCode: 'sms' }, { name: 'phone', valueString: '+33600000078' }])).status, 200);
  await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  t.same((await waitForMails('both@example.org', 2))[1], 'Votre dossier a été fermé', 'by e-mail at the sign-in address');
  t.ok((await waitForSms('+33600000078', /fermé/)).length >= 1, 'and by SMS');
});

t.test('a choice without any channel is refused with 422 and changes nothing', async (t) => {
  const { patientId } = await createDossier({ email: 'none@example.org' });
  const r = await choose(patientId, []);
  t.equal(r.status, 422);
  t.equal(r.body.resourceType, 'OperationOutcome');
  const current = await api.call('GET', `/fhir/Patient/${patientId}/$notification-preferences`);
  t.same(channels(current.body), [], 'no choice recorded');
  t.equal(out(current.body, 'signIn').channel, 'email', 'the sign-in address is shown');
});

t.test('choosing SMS without a phone number, when signing in by e-mail, is refused', async (t) => {
  const { patientId } = await createDossier({ email: 'nophone@example.org' });
  const r = await choose(patientId, [{ name: 'channel', valueCode: 'sms' }]);
  t.equal(r.status, 422);
  t.match(r.body.issue[0].diagnostics, /phone number/);
});

t.test('a phone number that is not international is refused', async (t) => {
  const { patientId } = await createDossier({ email: 'badphone@example.org' });
  t.equal((await choose(patientId, [{ name: 'channel', valueCode: 'sms' }, { name: 'phone', valueString: '0600000000' }])).status, 422);
});
