// Front door of the notification module: events written to the outbox in the commit of what
// they tell about, a worker that sends them by e-mail (SMTP) or SMS (HTTP gateway) with retries,
// and the French messages, which carry no medical content.
//
//   await store.commit({ writes, outbox: [notificationOutbox({ kind: 'document-added', patientId, at })] });
//   const worker = new NotificationWorker({ store, senders: { email: new SmtpSender(...), sms: new SmsGatewaySender(...) }, resolveRecipients });
//   worker.start(); … await worker.stop();
export { BadNotification, CHANNELS, NOTIFICATION_TOPICS, notificationOutbox, parseNotification } from './events.ts';
export type { AccessEvent, Channel, DossierEvent, NotificationEvent, NotificationTopic, OtpEvent, Recipient } from './events.ts';
export { renderMessage } from './messages.ts';
export type { MessageOptions, RenderedMessage } from './messages.ts';
export { SendError, SmsGatewaySender, SmtpSender } from './senders.ts';
export type { OutgoingMessage, Sender, SmsGatewaySettings, SmtpSettings } from './senders.ts';
export { NOTIFY_STREAM, NotificationWorker, backoffDelay } from './worker.ts';
export type { NotificationWorkerOptions, Outcome, RecipientResolver, WorkerLog } from './worker.ts';
