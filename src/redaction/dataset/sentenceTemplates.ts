import type { PiiLanguage } from './PiiRow.js';

// Sentence templates for synthetic rows. `{LABEL}` is a slot that gets a fresh fake value of
// that label. Each topic has variants in every language, so all 56 labels appear in all four
// languages; a row strings two to four topics together inside an opening and a closing, which
// gives many combinations from a short list.

export type TemplatesByLanguage = Readonly<Record<PiiLanguage, readonly string[]>>;

export const TOPIC_TEMPLATES: readonly TemplatesByLanguage[] = [
  {
    en: ['The account holder is {PREFIX} {FIRSTNAME} {MIDDLENAME} {LASTNAME}.', 'Please ask {PREFIX} {LASTNAME} ({FIRSTNAME} {MIDDLENAME}) to sign the form.'],
    fr: ['Le titulaire du compte est {PREFIX} {FIRSTNAME} {MIDDLENAME} {LASTNAME}.', 'Merci de faire signer le formulaire par {PREFIX} {FIRSTNAME} {MIDDLENAME} {LASTNAME}.'],
    de: ['Kontoinhaber ist {PREFIX} {FIRSTNAME} {MIDDLENAME} {LASTNAME}.', 'Bitte lassen Sie {PREFIX} {LASTNAME} ({FIRSTNAME} {MIDDLENAME}) das Formular unterschreiben.'],
    it: ["L'intestatario del conto è {PREFIX} {FIRSTNAME} {MIDDLENAME} {LASTNAME}.", 'Per favore fate firmare il modulo a {PREFIX} {FIRSTNAME} {MIDDLENAME} {LASTNAME}.'],
  },
  {
    en: ['{FIRSTNAME} {LASTNAME} can be reached at {EMAIL} or on {PHONENUMBER}.', 'Send the invoice to {EMAIL}; for questions call {PHONENUMBER}.'],
    fr: ['On peut joindre {FIRSTNAME} {LASTNAME} à {EMAIL} ou au {PHONENUMBER}.', 'Envoyez la facture à {EMAIL} ; pour toute question, appelez le {PHONENUMBER}.'],
    de: ['{FIRSTNAME} {LASTNAME} ist unter {EMAIL} oder {PHONENUMBER} erreichbar.', 'Schicken Sie die Rechnung an {EMAIL}; bei Fragen rufen Sie {PHONENUMBER} an.'],
    it: ['{FIRSTNAME} {LASTNAME} è raggiungibile a {EMAIL} oppure al {PHONENUMBER}.', 'Inviate la fattura a {EMAIL}; per domande chiamate il {PHONENUMBER}.'],
  },
  {
    en: ['Your temporary login is {USERNAME} with password {PASSWORD}.', 'User {USERNAME} reset the password to {PASSWORD} yesterday.'],
    fr: ['Votre identifiant provisoire est {USERNAME} avec le mot de passe {PASSWORD}.', "L'utilisateur {USERNAME} a changé son mot de passe en {PASSWORD} hier."],
    de: ['Ihr vorläufiger Login ist {USERNAME} mit dem Passwort {PASSWORD}.', 'Der Benutzer {USERNAME} hat sein Passwort gestern auf {PASSWORD} gesetzt.'],
    it: ['Il tuo accesso temporaneo è {USERNAME} con password {PASSWORD}.', "L'utente {USERNAME} ha reimpostato la password a {PASSWORD} ieri."],
  },
  {
    en: ['Ship the parcel to {BUILDINGNUMBER} {STREET}, {SECONDARYADDRESS}, {CITY} {ZIPCODE}.', 'Our new address is {STREET} {BUILDINGNUMBER}, {ZIPCODE} {CITY}.'],
    fr: ['Livrez le colis au {BUILDINGNUMBER} {STREET}, {SECONDARYADDRESS}, {ZIPCODE} {CITY}.', 'Notre nouvelle adresse : {BUILDINGNUMBER} {STREET}, {ZIPCODE} {CITY}.'],
    de: ['Schicken Sie das Paket an {STREET} {BUILDINGNUMBER}, {SECONDARYADDRESS}, {ZIPCODE} {CITY}.', 'Unsere neue Adresse lautet {STREET} {BUILDINGNUMBER}, {ZIPCODE} {CITY}.'],
    it: ['Spedite il pacco in {STREET} {BUILDINGNUMBER}, {SECONDARYADDRESS}, {ZIPCODE} {CITY}.', 'Il nostro nuovo indirizzo è {STREET} {BUILDINGNUMBER}, {ZIPCODE} {CITY}.'],
  },
  {
    en: ['The branch serves {COUNTY} in {STATE}.', 'She moved from {CITY}, {STATE} to {COUNTY} last spring.'],
    fr: ["L'agence couvre {COUNTY} en {STATE}.", "Elle a quitté {CITY} ({STATE}) pour {COUNTY} au printemps."],
    de: ['Die Filiale betreut {COUNTY} in {STATE}.', 'Sie ist im Frühjahr von {CITY} ({STATE}) nach {COUNTY} gezogen.'],
    it: ['La filiale copre {COUNTY} in {STATE}.', 'In primavera si è trasferita da {CITY} ({STATE}) a {COUNTY}.'],
  },
  {
    en: ['The tracker last reported {NEARBYGPSCOORDINATE}, moving {ORDINALDIRECTION}.', 'Meet at {NEARBYGPSCOORDINATE}, just {ORDINALDIRECTION} of the bridge.'],
    fr: ['Le traceur a signalé {NEARBYGPSCOORDINATE} en direction du {ORDINALDIRECTION}.', 'Rendez-vous à {NEARBYGPSCOORDINATE}, au {ORDINALDIRECTION} du pont.'],
    de: ['Der Tracker meldete zuletzt {NEARBYGPSCOORDINATE}, Richtung {ORDINALDIRECTION}.', 'Treffpunkt ist {NEARBYGPSCOORDINATE}, {ORDINALDIRECTION} der Brücke.'],
    it: ['Il localizzatore ha segnalato {NEARBYGPSCOORDINATE}, direzione {ORDINALDIRECTION}.', 'Ci vediamo a {NEARBYGPSCOORDINATE}, a {ORDINALDIRECTION} del ponte.'],
  },
  {
    en: ['{FIRSTNAME} joined {COMPANYNAME} as {JOBTITLE} in the {JOBAREA} team.', 'We are hiring a {JOBTYPE} for {JOBAREA} at {COMPANYNAME}.'],
    fr: ['{FIRSTNAME} a rejoint {COMPANYNAME} comme {JOBTITLE} dans l’équipe {JOBAREA}.', 'Nous recrutons un {JOBTYPE} pour le service {JOBAREA} chez {COMPANYNAME}.'],
    de: ['{FIRSTNAME} ist als {JOBTITLE} im Bereich {JOBAREA} zu {COMPANYNAME} gekommen.', 'Wir suchen einen {JOBTYPE} für {JOBAREA} bei {COMPANYNAME}.'],
    it: ['{FIRSTNAME} è entrato in {COMPANYNAME} come {JOBTITLE} nel team {JOBAREA}.', 'Cerchiamo un {JOBTYPE} per il reparto {JOBAREA} presso {COMPANYNAME}.'],
  },
  {
    en: ['Patient is {AGE} years old, {SEX}, {HEIGHT} tall with {EYECOLOR} eyes.', 'The applicant ({GENDER}, aged {AGE}) was born on {DOB}.'],
    fr: ['Le patient a {AGE} ans, sexe {SEX}, mesure {HEIGHT} et a les yeux {EYECOLOR}.', 'La personne ({GENDER}, {AGE} ans) est née le {DOB}.'],
    de: ['Der Patient ist {AGE} Jahre alt, {SEX}, {HEIGHT} groß, Augenfarbe {EYECOLOR}.', 'Die Person ({GENDER}, {AGE} Jahre) ist am {DOB} geboren.'],
    it: ['Il paziente ha {AGE} anni, sesso {SEX}, è alto {HEIGHT} e ha gli occhi {EYECOLOR}.', 'La persona ({GENDER}, {AGE} anni) è nata il {DOB}.'],
  },
  {
    en: ['Date of birth: {DOB}; gender: {GENDER}.', 'The appointment is on {DATE} at {TIME}.'],
    fr: ['Date de naissance : {DOB} ; genre : {GENDER}.', 'Le rendez-vous est fixé au {DATE} à {TIME}.'],
    de: ['Geburtsdatum: {DOB}; Geschlecht: {GENDER}.', 'Der Termin ist am {DATE} um {TIME}.'],
    it: ['Data di nascita: {DOB}; genere: {GENDER}.', "L'appuntamento è il {DATE} alle {TIME}."],
  },
  {
    en: ['Please transfer {CURRENCYSYMBOL}{AMOUNT} to IBAN {IBAN} (BIC {BIC}) by {DATE}.', 'Account {ACCOUNTNUMBER} ({ACCOUNTNAME}) was debited {AMOUNT} {CURRENCYCODE}.'],
    fr: ['Merci de virer {AMOUNT} {CURRENCYSYMBOL} sur l’IBAN {IBAN} (BIC {BIC}) avant le {DATE}.', 'Le compte {ACCOUNTNUMBER} ({ACCOUNTNAME}) a été débité de {AMOUNT} {CURRENCYCODE}.'],
    de: ['Bitte überweisen Sie {AMOUNT} {CURRENCYSYMBOL} bis {DATE} auf IBAN {IBAN} (BIC {BIC}).', 'Konto {ACCOUNTNUMBER} ({ACCOUNTNAME}) wurde mit {AMOUNT} {CURRENCYCODE} belastet.'],
    it: ['Si prega di bonificare {AMOUNT} {CURRENCYSYMBOL} sull’IBAN {IBAN} (BIC {BIC}) entro il {DATE}.', 'Sul conto {ACCOUNTNUMBER} ({ACCOUNTNAME}) sono stati addebitati {AMOUNT} {CURRENCYCODE}.'],
  },
  {
    en: ['Charge it to my {CREDITCARDISSUER} card {CREDITCARDNUMBER}, CVV {CREDITCARDCVV}.', 'The card ending {MASKEDNUMBER} was blocked; the new PIN is {PIN}.'],
    fr: ['Débitez ma carte {CREDITCARDISSUER} {CREDITCARDNUMBER}, cryptogramme {CREDITCARDCVV}.', 'La carte {MASKEDNUMBER} a été bloquée ; le nouveau code PIN est {PIN}.'],
    de: ['Buchen Sie es von meiner {CREDITCARDISSUER}-Karte {CREDITCARDNUMBER} ab, Prüfnummer {CREDITCARDCVV}.', 'Die Karte {MASKEDNUMBER} wurde gesperrt; die neue PIN lautet {PIN}.'],
    it: ['Addebitatelo sulla mia carta {CREDITCARDISSUER} {CREDITCARDNUMBER}, CVV {CREDITCARDCVV}.', 'La carta {MASKEDNUMBER} è stata bloccata; il nuovo PIN è {PIN}.'],
  },
  {
    en: ['Prices are quoted in {CURRENCY}, but we also accept {CURRENCYNAME}.', 'The refund of {AMOUNT} {CURRENCYCODE} will be paid in {CURRENCYNAME}.'],
    fr: ['Les prix sont en {CURRENCY}, mais nous acceptons aussi le {CURRENCYNAME}.', 'Le remboursement de {AMOUNT} {CURRENCYCODE} sera versé en {CURRENCYNAME}.'],
    de: ['Die Preise sind in {CURRENCY} angegeben, wir nehmen aber auch {CURRENCYNAME}.', 'Die Erstattung von {AMOUNT} {CURRENCYCODE} wird in {CURRENCYNAME} ausgezahlt.'],
    it: ['I prezzi sono in {CURRENCY}, ma accettiamo anche {CURRENCYNAME}.', 'Il rimborso di {AMOUNT} {CURRENCYCODE} sarà pagato in {CURRENCYNAME}.'],
  },
  {
    en: ['Send the deposit to bitcoin address {BITCOINADDRESS} or to {ETHEREUMADDRESS}.', 'Payouts go to the Litecoin wallet {LITECOINADDRESS}.'],
    fr: ["Envoyez l'acompte à l'adresse bitcoin {BITCOINADDRESS} ou à {ETHEREUMADDRESS}.", 'Les versements vont sur le portefeuille Litecoin {LITECOINADDRESS}.'],
    de: ['Senden Sie die Anzahlung an die Bitcoin-Adresse {BITCOINADDRESS} oder an {ETHEREUMADDRESS}.', 'Auszahlungen gehen an die Litecoin-Wallet {LITECOINADDRESS}.'],
    it: ["Inviate l'anticipo all'indirizzo bitcoin {BITCOINADDRESS} oppure a {ETHEREUMADDRESS}.", 'I pagamenti vanno sul portafoglio Litecoin {LITECOINADDRESS}.'],
  },
  {
    en: ['We saw a login from {IPV4} with the browser {USERAGENT}.', 'The router {MAC} also answered on {IPV6} and {IP}.'],
    fr: ['Connexion détectée depuis {IPV4} avec le navigateur {USERAGENT}.', 'Le routeur {MAC} répondait aussi sur {IPV6} et {IP}.'],
    de: ['Wir haben eine Anmeldung von {IPV4} mit dem Browser {USERAGENT} gesehen.', 'Der Router {MAC} antwortete auch unter {IPV6} und {IP}.'],
    it: ['Abbiamo rilevato un accesso da {IPV4} con il browser {USERAGENT}.', 'Il router {MAC} rispondeva anche su {IPV6} e {IP}.'],
  },
  {
    en: ['My portfolio is online at {URL}.', 'Reset your account at {URL} before {DATE}.'],
    fr: ['Mon portfolio est en ligne sur {URL}.', 'Réinitialisez votre compte sur {URL} avant le {DATE}.'],
    de: ['Mein Portfolio ist unter {URL} online.', 'Setzen Sie Ihr Konto vor dem {DATE} unter {URL} zurück.'],
    it: ['Il mio portfolio è online su {URL}.', 'Reimposta il tuo account su {URL} entro il {DATE}.'],
  },
  {
    en: ['For the tax form we need your SSN, {SSN}, and your phone IMEI {PHONEIMEI}.', 'SSN on file: {SSN}.'],
    fr: ['Pour le dossier fiscal, il nous faut votre numéro de sécurité sociale {SSN} et l’IMEI {PHONEIMEI}.', 'Numéro de sécurité sociale enregistré : {SSN}.'],
    de: ['Für das Steuerformular brauchen wir Ihre Sozialversicherungsnummer {SSN} und die IMEI {PHONEIMEI}.', 'Hinterlegte Sozialversicherungsnummer: {SSN}.'],
    it: ['Per la pratica fiscale ci servono il codice fiscale {SSN} e l’IMEI {PHONEIMEI}.', 'Codice fiscale in archivio: {SSN}.'],
  },
  {
    en: ['The car with VIN {VEHICLEVIN} and plate {VEHICLEVRM} was towed at {TIME}.', 'Registration {VEHICLEVRM} belongs to a vehicle with VIN {VEHICLEVIN}.'],
    fr: ['Le véhicule VIN {VEHICLEVIN}, immatriculé {VEHICLEVRM}, a été remorqué à {TIME}.', "L'immatriculation {VEHICLEVRM} correspond au VIN {VEHICLEVIN}."],
    de: ['Das Auto mit FIN {VEHICLEVIN} und Kennzeichen {VEHICLEVRM} wurde um {TIME} abgeschleppt.', 'Das Kennzeichen {VEHICLEVRM} gehört zum Fahrzeug mit FIN {VEHICLEVIN}.'],
    it: ["L'auto con telaio {VEHICLEVIN} e targa {VEHICLEVRM} è stata rimossa alle {TIME}.", 'La targa {VEHICLEVRM} appartiene al veicolo con telaio {VEHICLEVIN}.'],
  },
];

/** Openings of a message; the empty one leaves the topics alone. */
export const OPENINGS: TemplatesByLanguage = {
  en: ['', 'Hello,', 'Hi team,', 'Ticket update:', 'Dear support,', 'Note from the front desk:'],
  fr: ['', 'Bonjour,', "Bonjour à l'équipe,", 'Mise à jour du ticket :', 'Cher support,', "Note de l'accueil :"],
  de: ['', 'Hallo,', 'Hallo Team,', 'Ticket-Update:', 'Liebes Support-Team,', 'Notiz vom Empfang:'],
  it: ['', 'Ciao,', 'Ciao a tutti,', 'Aggiornamento ticket:', 'Gentile assistenza,', 'Nota dalla reception:'],
};

/** Closings of a message; the empty one ends with the last topic. */
export const CLOSINGS: TemplatesByLanguage = {
  en: ['', 'Thanks.', 'Please keep this confidential.', 'Let me know if anything is missing.', 'Regards, {FIRSTNAME}'],
  fr: ['', 'Merci.', 'Merci de garder ceci confidentiel.', "Dites-moi s'il manque quelque chose.", 'Cordialement, {FIRSTNAME}'],
  de: ['', 'Danke.', 'Bitte vertraulich behandeln.', 'Sagen Sie Bescheid, falls etwas fehlt.', 'Viele Grüße, {FIRSTNAME}'],
  it: ['', 'Grazie.', 'Si prega di mantenere riservato.', 'Fatemi sapere se manca qualcosa.', 'Cordiali saluti, {FIRSTNAME}'],
};

const SLOT = /\{([A-Z][A-Z0-9]*)\}/g;

/** The labels a template's slots name, in order. */
export function templateLabels(template: string): string[] {
  return [...template.matchAll(SLOT)].map((match) => match[1]);
}

/** A template cut into literal text and slots. */
export function templateParts(template: string): Array<{ text: string } | { label: string }> {
  const parts: Array<{ text: string } | { label: string }> = [];
  let at = 0;
  for (const match of template.matchAll(SLOT)) {
    if (match.index > at) parts.push({ text: template.slice(at, match.index) });
    parts.push({ label: match[1] });
    at = match.index + match[0].length;
  }
  if (at < template.length) parts.push({ text: template.slice(at) });
  return parts;
}
