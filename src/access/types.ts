// The vocabulary of the access engine: who acts (Actor), on what (DossierFacts, ResourceFacts),
// how (AccessMode, Action), and what the engine answers (Decision). Everything here is plain
// data so that decisions are pure functions, tested without a database.

/** The structure a professional acts for (Struct_IdNat and name); recorded, not decided on. */
export interface ActorOrganization {
  id?: string;
  name?: string;
}

/**
 * A health professional. `rpps` is the 11-digit RPPS number (no '8' PS_IdNat prefix).
 * The engine looks at `activity` first (occupational physicians and insurers' medical advisers
 * see nothing, whatever their profession), then `role` (establishment administrative staff,
 * whose `profession` is not a G15 code), and only then at `profession` (G15) with `specialty`
 * (R01) and `pharmacistSection` (G05) to pick the habilitation-matrix row.
 */
export interface ProfessionalActor {
  kind: 'professional';
  rpps: string;
  profession: string;
  specialty?: string;
  pharmacistSection?: string;
  activity?: 'occupational-medicine' | 'insurer-medical-adviser';
  role?: 'administrative-staff';
  organization?: ActorOrganization;
}

/** A SAMU-Centre 15 regulating physician, acting in emergency-call mode. */
export interface RegulatorActor {
  kind: 'regulator';
  rpps: string;
  profession: string;
}

export interface PatientActor {
  kind: 'patient';
  patientId: string;
}

/** A legal representative: acts on the dossiers of the listed patients while they are minors. */
export interface RepresentativeActor {
  kind: 'representative';
  patientIds: string[];
}

/** The insurer's care-history feed: writes reimbursement data (class 60), reads nothing. */
export interface CareHistoryFeedActor {
  kind: 'care-history-feed';
}

/** A server operator: manages the server, reads no health data. */
export interface OperatorActor {
  kind: 'operator';
}

/** A patient's connected device: may create Observations in its patient's dossier only. */
export interface DeviceActor {
  kind: 'device';
  patientId: string;
  deviceId: string;
}

export type Actor =
  | ProfessionalActor
  | RegulatorActor
  | PatientActor
  | RepresentativeActor
  | CareHistoryFeedActor
  | OperatorActor
  | DeviceActor;

/** How the actor declares the access (VIHF purposeofuse, TRE_R248: normal, bris_de_glace, centre_15). */
export type AccessMode = 'normal' | 'break-the-glass' | 'emergency-call';
export const ACCESS_MODES: readonly AccessMode[] = ['normal', 'break-the-glass', 'emergency-call'];

export type Action = 'read' | 'create' | 'update' | 'delete';

/** What the engine needs to know about one patient's dossier (see consent-facts.ts). */
export interface DossierFacts {
  patientId: string;
  status: 'active' | 'closed';
  /** RPPS numbers authorised by the patient, or self-declared members of the care team. */
  authorized: string[];
  /** RPPS numbers the patient blocked: blocked wins over everything. */
  blocked: string[];
  /** RPPS number of the treating doctor ("médecin traitant DMP"). */
  treatingDoctor?: string;
  opposedBreakTheGlass: boolean;
  opposedEmergencyCall: boolean;
  /** Legal representatives act on the dossier only while this is true. */
  minor?: boolean;
}

/** What the engine needs to know about one resource (see resource-facts.ts). */
export interface ResourceFacts {
  type: string;
  /** Patient id of the dossier the resource belongs to; undefined outside any dossier. */
  dossier?: string;
  /** Document class (J57 / TRE_A03 code); undefined when the resource has none. */
  classCode?: string;
  /** Document type (LOINC or TRE_A05 code). */
  typeCode?: string;
  /** RPPS numbers, 'Patient/<id>' (the patient's own uploads) or 'Device/<id>'. */
  authors: string[];
  /** MASQUE_PS: hidden by the patient from professionals (not from its author and the treating doctor). */
  masked: boolean;
  /** INVISIBLE_PATIENT: set by the author until the patient has been told. */
  invisibleToPatient: boolean;
  /** INVISIBLE_REPRESENTANTS_LEGAUX: hidden from a minor's legal representatives. */
  invisibleToRepresentatives: boolean;
}

// ---- the habilitation matrix, as loaded from profiles/habilitations.json ---------------------

/** One cell: the whole class, nothing of it, or only these document types within it. */
export type Cell = 'all' | 'none' | { types: string[] };
/** Read rights per class code. A class without a cell is not readable. */
export type Cells = Record<string, Cell>;

export interface ProfessionRow {
  label: string;
  /** G15 profession codes this row applies to. */
  professions: string[];
  /** Only for these R01 specialties (a row with a matching qualifier beats one without). */
  specialties?: string[];
  /** Only for these CNOP sections (pharmacists). */
  pharmacistSections?: string[];
  read: Cells;
}

/** A resource the actor may create matches every field given in one of its rules. */
export interface CreateRule {
  classes?: string[];
  exceptClasses?: string[];
  resourceTypes?: string[];
  exceptResourceTypes?: string[];
  /**
   * 'self': the resource names no author but the actor (a representative: the minor), so that
   * what a patient declares can never pass for a professional's statement.
   */
  authoredBy?: 'self';
}

/** Who the engine sees an actor as; 'never' (occupational/insurer activity) is not configurable. */
export type ActorCategory =
  | 'professional'
  | 'administrative-staff'
  | 'regulator'
  | 'patient'
  | 'representative'
  | 'care-history-feed'
  | 'operator'
  | 'device';

export interface ActorRules {
  /** Access modes this category may use; any other mode is refused. */
  modes: AccessMode[];
  /**
   * 'profession-row': the matrix row of the professional's profession; Cells: a fixed row;
   * 'dossier': the whole dossier except what is flagged invisible to this actor (patient,
   * representative); 'none': reads nothing.
   */
  read: 'profession-row' | 'dossier' | 'none' | Cells;
  /** Modes in which masked documents are visible to this category (row readers only). */
  seesMaskedIn?: AccessMode[];
  create: CreateRule[];
  /** Resource types this actor may update or delete whoever wrote them (the patient's Consents). */
  manage?: string[];
}

/** How a structured resource type maps to a class, optionally refined by one of its codes. */
export interface ResourceClassRule {
  class?: string;
  type?: string;
  refine?: { element: string; codes: Record<string, { class?: string; type?: string }> };
}

export interface Habilitations {
  source: string;
  version: string;
  /** The class codes every row gives a cell for. */
  classes: string[];
  professions: ProfessionRow[];
  otherProfessions: { label: string; read: Cells };
  actors: Record<ActorCategory, ActorRules>;
  resourceClasses: Record<string, ResourceClassRule>;
  /** Types outside any dossier (directory, conformance): readable by every actor. */
  directoryTypes: string[];
  /** typeCode → classCode (profiles/type-class.json). */
  typeClass: Record<string, string>;
  typeClassSource: string;
}

// ---- decisions ------------------------------------------------------------------------------

export type AllowReason =
  | 'matrix'
  | 'author'
  | 'treating-doctor'
  | 'masked-visible-in-mode'
  | 'own-dossier'
  | 'representative'
  | 'may-create'
  | 'dossier-manager'
  | 'directory'
  | 'self-authorisation'
  | 'label-owner'
  | 'label-author';

export type RefusalReason =
  | 'never'
  | 'dossier-closed'
  | 'blocked'
  | 'mode-not-allowed'
  | 'opposed-break-the-glass'
  | 'opposed-emergency-call'
  | 'not-authorised'
  | 'not-own-dossier'
  | 'not-representative'
  | 'not-minor'
  | 'no-read-rights'
  | 'no-dossier'
  | 'other-dossier'
  | 'outside-matrix'
  | 'masked'
  | 'invisible-to-patient'
  | 'invisible-to-representatives'
  | 'create-not-permitted'
  | 'not-author'
  | 'not-self-authorisable'
  | 'label-not-permitted'
  | 'directory-read-only';

/**
 * 'forbidden' (403): the request is refused as a whole (the dossier is not accessible at all,
 * or the actor may not do this), which reveals nothing about any resource.
 * 'absent' (404): one resource is hidden by content rules (matrix, mask, visibility flags);
 * answering 403 would tell that it exists.
 */
export type Visibility = 'absent' | 'forbidden';

export type Decision =
  | { allowed: true; reason: AllowReason }
  | { allowed: false; reason: RefusalReason; visibleAs: Visibility };

export type Refusal = Extract<Decision, { allowed: false }>;
