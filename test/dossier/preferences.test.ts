// The patient's choice of notification channels, as pure rules: what a choice must hold and
// where the patient is then told.
import t from 'tap';
import { BadPreferences, checkPreferences, patientAddresses } from '../../src/dossier/preferences.ts';

const signInByEmail = { channel: 'email' as const, to: 'patient@example.org' };

t.test('a choice of the sign-in channel needs no address', async (t) => {
  t.same(checkPreferences({ channels: ['email'] }, signInByEmail), { channels: ['email'] });
});

t.test('a choice names at least one channel', async (t) => {
  t.throws(() => checkPreferences({ channels: [] }, signInByEmail), BadPreferences);
});

t.test('an unknown channel is refused', async (t) => {
  t.throws(() => checkPreferences({ channels: ['pigeon'] }, signInByEmail), /unknown channel/);
});

t.test('a channel other than the sign-in one needs its address', async (t) => {
  t.throws(() => checkPreferences({ channels: ['sms'] }, signInByEmail), /phone number/);
  t.same(checkPreferences({ channels: ['sms'], phone: '+33612345678' }, signInByEmail), { channels: ['sms'], phone: '+33612345678' });
});

t.test('addresses must look like addresses', async (t) => {
  t.throws(() => checkPreferences({ channels: ['email'], email: 'not-an-address' }, signInByEmail), /e-mail/);
  t.throws(() => checkPreferences({ channels: ['sms'], phone: '06 12 34 56 78' }, signInByEmail), /E\.164/);
});

t.test('without a choice the patient is told at the sign-in address', async (t) => {
  t.same(patientAddresses(undefined, signInByEmail), [signInByEmail]);
});

t.test('with a choice the patient is told on each chosen channel, the sign-in address filling a missing one', async (t) => {
  t.same(patientAddresses({ channels: ['email', 'sms'], phone: '+33612345678' }, signInByEmail), [signInByEmail, { channel: 'sms', to: '+33612345678' }]);
});

t.test('a choice whose addresses are all gone falls back to the sign-in address, never to nobody', async (t) => {
  t.same(patientAddresses({ channels: ['sms'] }, signInByEmail), [signInByEmail]);
});
