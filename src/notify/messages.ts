// Event → message, in French, for e-mail and SMS. Pure.
//
// No medical content: a message says that something happened and when, never what (no document
// title or type, no diagnosis). Who accessed is told by profession only, and only for
// professions that reveal nothing about the patient's health (médecin, pharmacien, infirmier…):
// "une sage-femme" or a specialty would, and e-mails and SMS cross third-party servers. Names,
// establishments and details are in the access history, behind the patient's sign-in; the
// message links there.
import type { Channel, NotificationEvent } from './events.ts';

export interface MessageOptions {
  /** The patient portal, for links (default https://carnet.example). */
  portalUrl?: string;
  /** Time zone of the dates written in messages (default Europe/Paris). */
  timeZone?: string;
}

export interface RenderedMessage {
  /** E-mail subject (SMS have none). */
  subject: string;
  text: string;
}

/** Professions named in messages: common enough to say nothing about the patient's health. */
const NEUTRAL_PROFESSIONS: Readonly<Record<string, string>> = {
  '10': 'un médecin',
  '21': 'un pharmacien',
  '40': 'un chirurgien-dentiste',
  '60': 'un infirmier',
  '70': 'un masseur-kinésithérapeute',
};

function who(profession: string | undefined): string {
  return (profession && NEUTRAL_PROFESSIONS[profession]) ?? 'un professionnel de santé';
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function when(at: string, channel: Channel, timeZone: string): string {
  const date = new Date(at);
  const day =
    channel === 'sms'
      ? new Intl.DateTimeFormat('fr-FR', { timeZone, day: '2-digit', month: '2-digit', year: 'numeric' }).format(date)
      : new Intl.DateTimeFormat('fr-FR', { timeZone, day: 'numeric', month: 'long', year: 'numeric' }).format(date);
  const time = new Intl.DateTimeFormat('fr-FR', { timeZone, hour: '2-digit', minute: '2-digit' }).format(date);
  return `le ${day} à ${time}`;
}

const SIGNATURE = '\n\nCe message vous est envoyé automatiquement par Carnet, votre dossier médical partagé. Merci de ne pas y répondre.';

interface Parts {
  subject: string;
  /** The fact, one sentence, without a final full stop. */
  fact: string;
  /** What the patient can do about it (e-mail only). */
  advice?: string;
  link?: string;
}

function parts(event: Exclude<NotificationEvent, { kind: 'otp' }>, at: string, portal: string): Parts {
  switch (event.kind) {
    case 'document-added':
      return { subject: 'Un document a été ajouté à votre dossier', fact: `Un document a été ajouté à votre dossier ${at}`, link: `${portal}/documents` };
    case 'first-access':
      return {
        subject: 'Un nouveau professionnel a consulté votre dossier',
        fact: `${capitalise(who(event.profession))} a consulté votre dossier pour la première fois ${at}`,
        advice: "Si vous ne connaissez pas ce professionnel, vous pouvez bloquer son accès depuis l'historique des accès de votre dossier.",
        link: `${portal}/historique`,
      };
    case 'break-the-glass':
      return {
        subject: 'Accès en urgence à votre dossier',
        fact: `${capitalise(who(event.profession))} a accédé à votre dossier en urgence (accès « bris de glace ») ${at}`,
        advice: "Cet accès est réservé aux situations d'urgence. Vous pouvez vous y opposer depuis les paramètres de votre dossier.",
        link: `${portal}/historique`,
      };
    case 'emergency-call':
      return {
        subject: 'Accès à votre dossier par le SAMU-Centre 15',
        fact: `Un médecin régulateur du SAMU-Centre 15 a accédé à votre dossier ${at}`,
        advice: 'Vous pouvez vous opposer à ce type d’accès depuis les paramètres de votre dossier.',
        link: `${portal}/historique`,
      };
    case 'dossier-created':
      return {
        subject: 'Votre dossier médical partagé a été créé',
        fact: `Votre dossier médical partagé a été créé ${at}`,
        advice: 'Depuis votre espace, vous choisissez qui peut y accéder et comment être prévenu.',
        link: portal,
      };
    case 'dossier-closed':
      return {
        subject: 'Votre dossier a été fermé',
        fact: `Votre dossier a été fermé ${at}`,
        advice: 'Ses données sont conservées dix ans ; pendant ce temps, vous pouvez le réactiver à tout moment.',
        link: portal,
      };
    case 'dossier-reactivated':
      return { subject: 'Votre dossier a été réactivé', fact: `Votre dossier a été réactivé ${at}`, link: portal };
    case 'credentials-reset':
      return {
        subject: 'Vos identifiants de connexion ont été réinitialisés',
        fact: `Vos identifiants de connexion ont été réinitialisés ${at}`,
        advice: "Si vous n'êtes pas à l'origine de cette demande, contactez sans attendre l'assistance de Carnet.",
        link: `${portal}/connexion`,
      };
  }
}

/** The message for an event on a channel. */
export function renderMessage(event: NotificationEvent, channel: Channel, options: MessageOptions = {}): RenderedMessage {
  const portal = (options.portalUrl ?? 'https://carnet.example').replace(/\/+$/, '');
  const timeZone = options.timeZone ?? 'Europe/Paris';
  if (event.kind === 'otp') {
    const validity = event.expiresInMinutes ? ` Il est valable ${event.expiresInMinutes} minutes.` : '';
    const fact = `Votre code de connexion Carnet : ${event.code}.${validity} Ne le communiquez à personne.`;
    if (channel === 'sms') return { subject: '', text: fact };
    return { subject: 'Votre code de connexion Carnet', text: `Bonjour,\n\n${fact}\n\nSi vous n'avez pas demandé ce code, ignorez ce message.${SIGNATURE}` };
  }
  const p = parts(event, when(event.at, channel, timeZone), portal);
  if (channel === 'sms') return { subject: '', text: `Carnet : ${p.fact}.${p.link ? ` ${p.link}` : ''}` };
  const body = [`Bonjour,`, `${p.fact}.`];
  if (p.advice) body.push(p.advice);
  if (p.link) body.push(`Pour en savoir plus, connectez-vous à votre espace : ${p.link}`);
  return { subject: p.subject, text: body.join('\n\n') + SIGNATURE };
}
