import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RedactionInputError } from '../redactionErrors.js';

/** Data-set label → redactor label; null drops the entity (its text stays, unlabelled). */
export type LabelMap = Readonly<Record<string, string | null>>;

/**
 * Renames in later ai4privacy releases whose meaning is one of pii-masking-200k's labels.
 * Labels with no counterpart (IDCARDNUM, TAXNUM, DRIVERLICENSENUM, …) are left out on purpose:
 * rows that use them are reported, and the user decides (map them, or null to drop).
 */
export const DEFAULT_LABEL_MAP: LabelMap = {
  GIVENNAME: 'FIRSTNAME',
  GIVENNAME1: 'FIRSTNAME',
  GIVENNAME2: 'MIDDLENAME',
  SURNAME: 'LASTNAME',
  LASTNAME1: 'LASTNAME',
  LASTNAME2: 'LASTNAME',
  LASTNAME3: 'LASTNAME',
  TELEPHONENUM: 'PHONENUMBER',
  TEL: 'PHONENUMBER',
  BUILDINGNUM: 'BUILDINGNUMBER',
  ACCOUNTNUM: 'ACCOUNTNUMBER',
  DATEOFBIRTH: 'DOB',
  BOD: 'DOB',
  SOCIALNUM: 'SSN',
  SOCIALNUMBER: 'SSN',
  TITLE: 'PREFIX',
  POSTCODE: 'ZIPCODE',
  SECADDRESS: 'SECONDARYADDRESS',
  PASS: 'PASSWORD',
  GEOCOORD: 'NEARBYGPSCOORDINATE',
  CARDISSUER: 'CREDITCARDISSUER',
};

const labelMapSchema = z.record(z.string().min(1), z.string().min(1).nullable());

/** The default map, overlaid with the user's JSON object file when one is given. */
export function loadLabelMap(path?: string): LabelMap {
  if (!path) return DEFAULT_LABEL_MAP;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const why = error instanceof SyntaxError ? 'is not valid JSON' : `cannot be read (${(error as NodeJS.ErrnoException).code})`;
    throw new RedactionInputError(`label map ${path} ${why}`);
  }
  const parsed = labelMapSchema.safeParse(json);
  if (!parsed.success) throw new RedactionInputError(`label map ${path} must be an object of "LABEL": "LABEL" or null`);
  return { ...DEFAULT_LABEL_MAP, ...parsed.data };
}

/** The label a data-set label stands for: itself when the map does not name it. */
export function mapLabel(map: LabelMap, label: string): string | null {
  return Object.hasOwn(map, label) ? map[label] : label;
}
