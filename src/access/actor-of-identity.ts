// From who the identity layer says is calling (src/identity) to the access engine's Actor and
// mode. Pure: the one place the two vocabularies meet.
import type { AccessMode as IdentityMode, Identity } from '../identity/index.ts';
import type { AccessMode, Actor } from './types.ts';

export function actorOfIdentity(identity: Identity): Actor {
  switch (identity.kind) {
    case 'professional': {
      const actor: Actor = { kind: 'professional', rpps: identity.rpps, profession: identity.profession };
      if (identity.specialty) actor.specialty = identity.specialty;
      if (identity.pharmacistSection) actor.pharmacistSection = identity.pharmacistSection;
      if (identity.activity) actor.activity = identity.activity;
      if (identity.role) actor.role = identity.role;
      if (identity.organization) actor.organization = { ...identity.organization };
      return actor;
    }
    case 'regulator':
      return { kind: 'regulator', rpps: identity.rpps, profession: identity.profession };
    case 'patient':
      return { kind: 'patient', patientId: identity.patientId };
    case 'representative':
      return { kind: 'representative', patientIds: [...identity.patientIds] };
    case 'care-history-feed':
      return { kind: 'care-history-feed' };
    case 'operator':
      return { kind: 'operator' };
    case 'device':
      return { kind: 'device', patientId: identity.patientId, deviceId: identity.deviceId };
  }
}

export function modeOfIdentity(mode: IdentityMode | undefined): AccessMode {
  return mode?.kind ?? 'normal';
}
