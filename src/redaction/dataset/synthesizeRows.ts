import { base, de, en, Faker, fr, it, type LocaleDefinition } from '@faker-js/faker';
import { PII_LANGUAGES, type PiiLanguage, type PiiRow, type PrivacyMaskEntry } from './PiiRow.js';
import { PII_VALUE_FAKERS } from './piiValueFakers.js';
import { CLOSINGS, OPENINGS, TOPIC_TEMPLATES, templateParts } from './sentenceTemplates.js';

export interface SynthOptions {
  rows: number;
  seed: number;
  languages?: readonly PiiLanguage[];
  /** Share of rows marked `set: "validation"`, as in the real data set; the rest are "train". */
  validationShare?: number;
}

const LOCALES: Record<PiiLanguage, LocaleDefinition> = { en, fr, de, it };
const MIN_TOPICS = 2;
const MAX_TOPICS = 4;
const REFERENCE_DATE = '2025-01-01T00:00:00Z';

/**
 * Rows in the pii-masking-200k schema from Faker, the same rows for the same options. Languages
 * take turns and topics are dealt from a shuffled deck per language, each topic cycling through
 * its variants, so every label shows up in every language within a few dozen rows.
 */
export function* synthesizeRows(options: SynthOptions): Generator<PiiRow> {
  const languages = options.languages?.length ? options.languages : PII_LANGUAGES;
  const control = new Faker({ locale: [base], seed: options.seed });
  const writers = new Map(languages.map((language, i) => [language, new RowWriter(language, options.seed * 31 + i + 1)]));
  for (let index = 0; index < options.rows; index++) {
    const writer = writers.get(languages[index % languages.length])!;
    const set = control.number.float() < (options.validationShare ?? 0.2) ? 'validation' : 'train';
    yield writer.next(set);
  }
}

class RowWriter {
  private readonly faker: Faker;
  private readonly deck: number[] = [];
  private readonly variantTurn = new Map<number, number>();

  constructor(private readonly language: PiiLanguage, seed: number) {
    // English behind the language fills what a locale lacks (Faker's fr/de/it have no counties).
    this.faker = new Faker({ locale: [LOCALES[language], en, base], seed });
    // Faker's dates are relative to now unless told otherwise; a fixed reference keeps a seed's rows the same.
    this.faker.setDefaultRefDate(REFERENCE_DATE);
  }

  next(set: string): PiiRow {
    const f = this.faker;
    const count = f.number.int({ min: MIN_TOPICS, max: MAX_TOPICS });
    const templates = [
      f.helpers.arrayElement(OPENINGS[this.language]),
      ...Array.from({ length: count }, () => this.nextTopicTemplate()),
      f.helpers.arrayElement(CLOSINGS[this.language]),
    ].filter((template) => template !== '');
    const separator = f.helpers.weightedArrayElement([{ value: ' ', weight: 4 }, { value: '\n', weight: 1 }]);
    return this.fill(templates.join(separator), set);
  }

  private nextTopicTemplate(): string {
    if (this.deck.length === 0) this.deck.push(...this.faker.helpers.shuffle(TOPIC_TEMPLATES.map((_, i) => i)));
    const topic = this.deck.pop()!;
    const turn = this.variantTurn.get(topic) ?? 0;
    this.variantTurn.set(topic, turn + 1);
    const variants = TOPIC_TEMPLATES[topic][this.language];
    return variants[turn % variants.length];
  }

  private fill(template: string, set: string): PiiRow {
    let source = '';
    let length = 0;
    const mask: PrivacyMaskEntry[] = [];
    for (const part of templateParts(template)) {
      const text = 'text' in part ? part.text : PII_VALUE_FAKERS[part.label](this.faker, this.language);
      const size = Array.from(text).length;
      if ('label' in part) mask.push({ value: text, start: length, end: length + size, label: part.label });
      source += text;
      length += size;
    }
    const target = templateParts(template)
      .map((part) => ('text' in part ? part.text : `[${part.label}]`))
      .join('');
    return { source_text: source, target_text: target, privacy_mask: mask, language: this.language, set };
  }
}
