// Primitive values between XML `value` attributes (always text) and JSON (typed: boolean,
// number, string). Decimals keep the text they were written with: `1.50` is a JSON number
// whose literal is `1.50`, made with JSON.rawJSON so JSON.stringify writes it unchanged.
import type { RawJsonNumber } from '../../store/json-text.ts';
import { FhirXmlError } from './errors.ts';
import type { PrimitiveJsonKind } from './model.ts';

export type { RawJsonNumber };

// Lexical forms from the R4 data type definitions (datatypes.html).
const INTEGER = /^(?:0|[-+]?[1-9][0-9]*)$/;
const POSITIVE_INT = /^\+?[1-9][0-9]*$/;
const UNSIGNED_INT = /^(?:0|[1-9][0-9]*)$/;
const DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export type PrimitiveJsonValue = string | number | boolean | RawJsonNumber;

/** The JSON value for a `value` attribute of a primitive of this kind. */
export function primitiveFromXml(text: string, kind: PrimitiveJsonKind, typeCode: string, expression: string): PrimitiveJsonValue {
  const invalid = (): never => {
    throw new FhirXmlError(`Invalid ${typeCode} value "${text}"`, { expression, issueCode: 'value' });
  };
  switch (kind) {
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      return invalid();
    case 'integer':
    case 'positiveInt':
    case 'unsignedInt': {
      const pattern = kind === 'integer' ? INTEGER : kind === 'positiveInt' ? POSITIVE_INT : UNSIGNED_INT;
      if (!pattern.test(text)) return invalid();
      const value = Number(text);
      return value >= INT32_MIN && value <= INT32_MAX ? value : invalid();
    }
    case 'decimal': {
      if (!DECIMAL.test(text)) return invalid();
      const value = Number(text);
      // A plain number when it prints back as written; otherwise the literal itself (1.50, 1e3,
      // digits beyond double precision), which FHIR says is significant.
      return Number.isFinite(value) && String(value) === text ? value : JSON.rawJSON(text);
    }
    case 'string':
      return text;
  }
}

/** The `value` attribute text for a JSON primitive, checking its JSON type. */
export function primitiveToXml(value: unknown, kind: PrimitiveJsonKind, typeCode: string, expression: string): string {
  const wrongType = (expected: string): never => {
    throw new FhirXmlError(`${typeCode} value must be ${expected}`, { expression, issueCode: 'value' });
  };
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean' ? String(value) : wrongType('a boolean');
    case 'integer':
    case 'positiveInt':
    case 'unsignedInt':
      return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : wrongType('an integer number');
    case 'decimal':
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (JSON.isRawJSON(value) && DECIMAL.test(value.rawJSON)) return value.rawJSON;
      return wrongType('a number');
    case 'string':
      return typeof value === 'string' ? value : wrongType('a string');
  }
}
