// Word lists the pseudonymiser draws fakes from. They cover the languages of pii-masking-200k
// (English, French, German, Italian). Changing a list changes fakes that are not yet stored in a vault.

export const FIRST_NAMES = `Aaron Adele Agnes Alba Alessandro Alice Amelie Andrea Anna Antoine Arthur Astrid Aurora Beatrice
Benedikt Bernard Bianca Camille Carla Carlo Caroline Cecile Chiara Christoph Claire Clara Colin Daniel Daphne Dario
Delphine Dominik Edith Elena Elias Elise Emil Emma Enzo Eric Fabian Felix Filippo Fiona Florian Francesca Frida Gabriel
Giacomo Gianna Giulia Greta Hannah Hans Harriet Hector Helena Henri Ida Ilaria Ines Isabel Jakob Jasper Jeanne Jonas
Josephine Julian Juliette Karl Katharina Laura Leo Leonie Lorenzo Louise Luca Lucie Ludwig Lukas Magnus Manon Marco
Margot Maria Marius Martha Mathilde Matteo Maxime Mia Nadia Nathan Nina Noah Nora Olivia Oscar Paolo Pauline Philippe
Quentin Rachel Raphael Rebecca Robin Romy Rosa Ruben Samuel Sarah Sebastian Simone Sofia Stefan Sylvie Teresa Theo
Thomas Tobias Ursula Valentin Vera Victor Vittoria Walter Yara Yvonne Zoe`.split(/\s+/);

export const LAST_NAMES = `Abbott Albrecht Allard Amato Arnold Bachmann Baldwin Barbieri Baron Bauer Becker Benedetti Bertrand
Blanchard Bonnet Brandt Brooks Bruno Caputo Carpenter Caron Castelli Chevalier Clarke Colombo Conti Dalton Dubois Durand
Eberhardt Ellis Engel Esposito Faure Fellows Ferrari Fischer Fleury Fontana Foster Fournier Franke Galli Garnier Gautier
Gentile Giordano Graf Greco Hahn Hale Harper Hartmann Hayes Hoffmann Holt Jansen Jordan Kaiser Keller Kessler Klein Koch
Krause Lambert Lange Laurent Leclerc Lehmann Lombardi Lorenz Mancini Marchetti Marino Martel Mercier Meyer Moreau Morgan
Moretti Neumann Newton Nicolas Parisi Parker Perrin Pfeiffer Porter Ricci Rinaldi Robin Roche Romano Rossi Roussel Russo
Sauer Schmitt Schneider Schulz Shaw Simon Sommer Stone Thornton Vidal Villa Vogel Wagner Walsh Weber Werner Winter Wolf
Zimmermann`.split(/\s+/);

export const PLACE_STARTS = `Ash Oak Elm Maple Cedar Pine Willow Birch Stone River Lake Fair Green Brook Clear Spring Silver
Gold Mill Bridge Church Glen High Long Red Rose Hazel Fern Wolf Crow`.split(/\s+/);

export const PLACE_ENDINGS = `ford field ton ville bury wood port dale haven brook mont stead ham worth view ridge gate
mouth by well`.split(/\s+/);

export const STREET_TYPES = `Street Road Avenue Lane Drive Way Close Place Court Terrace Boulevard Crescent`.split(/\s+/);

export const STATES = [
  'Alabama', 'Arizona', 'California', 'Colorado', 'Florida', 'Georgia', 'Illinois', 'Kentucky', 'Maine', 'Michigan',
  'Montana', 'Nevada', 'New Mexico', 'Ohio', 'Oregon', 'Texas', 'Utah', 'Vermont', 'Virginia', 'Wisconsin',
  'Bavaria', 'Saxony', 'Hesse', 'Brittany', 'Normandy', 'Provence', 'Tuscany', 'Lombardy', 'Piedmont', 'Sicily',
];

export const UNIT_WORDS = ['Apt.', 'Suite', 'Unit', 'Flat', 'Floor', 'Room'];

export const COMPANY_SUFFIXES = ['Ltd', 'LLC', 'Inc', 'Group', 'GmbH', 'and Sons', 'Holdings', 'Partners', 'SARL', 'S.p.A.'];

export const ACCOUNT_NAMES = [
  'Savings Account', 'Checking Account', 'Personal Loan Account', 'Home Loan Account', 'Credit Card Account',
  'Investment Account', 'Money Market Account', 'Auto Loan Account',
];

export const CARD_ISSUERS = ['Visa', 'Mastercard', 'American Express', 'Discover', 'JCB', 'Diners Club', 'Maestro', 'UnionPay'];

export const CURRENCY_NAMES = [
  'Euro', 'US Dollar', 'Pound Sterling', 'Japanese Yen', 'Swiss Franc', 'Canadian Dollar', 'Australian Dollar',
  'Swedish Krona', 'Norwegian Krone', 'Danish Krone', 'Polish Zloty', 'Czech Koruna', 'Indian Rupee', 'Brazilian Real',
  'Mexican Peso', 'South African Rand', 'New Zealand Dollar', 'Singapore Dollar', 'Hong Kong Dollar', 'Turkish Lira',
];

export const CURRENCY_CODES = `EUR USD GBP JPY CHF CAD AUD SEK NOK DKK PLN CZK INR BRL MXN ZAR NZD SGD HKD TRY`.split(/\s+/);

export const CURRENCY_SYMBOLS = ['$', '€', '£', '¥', '₹', '₩', '₽', '₺', '₪', '₫', '₱', '฿', '₴', '₦'];

export const EYE_COLORS = ['Brown', 'Blue', 'Green', 'Hazel', 'Grey', 'Amber'];

export const GENDERS = ['Female', 'Male', 'Non-binary', 'Genderqueer', 'Agender', 'Genderfluid', 'Bigender', 'Two-spirit'];

export const SEXES = ['Female', 'Male', 'Intersex'];

export const PREFIXES = ['Mr.', 'Mrs.', 'Ms.', 'Miss', 'Dr.', 'Prof.', 'Mx.'];

export const DIRECTIONS = ['North', 'South', 'East', 'West', 'Northeast', 'Northwest', 'Southeast', 'Southwest'];

export const DIRECTION_ABBREVIATIONS = ['N', 'S', 'E', 'W', 'NE', 'NW', 'SE', 'SW'];

export const JOB_LEVELS = `Senior Junior Lead Principal Chief Associate Global Regional District Corporate National
Central Internal Product Customer Direct Legacy`.split(/\s+/);

export const JOB_AREAS = `Marketing Finance Operations Research Security Accounts Logistics Quality Infrastructure
Communications Branding Data Mobility Integration Identity Metrics Optimization Program Response Usability Web
Applications Assurance Creative Functionality Implementation Markets`.split(/\s+/);

export const JOB_TYPES = `Engineer Consultant Analyst Manager Designer Coordinator Specialist Administrator Developer
Architect Officer Strategist Technician Supervisor Planner Producer Associate Executive Director Assistant Agent
Liaison Representative Facilitator`.split(/\s+/);

export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'];

// Month and weekday names by language, so a date keeps its language and form.
export const MONTH_NAMES: readonly (readonly string[])[] = [
  ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'],
  ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
  ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'],
  ['Januar', 'Februar', 'März', 'April', 'Mai', 'Juni', 'Juli', 'August', 'September', 'Oktober', 'November', 'Dezember'],
  ['gennaio', 'febbraio', 'marzo', 'aprile', 'maggio', 'giugno', 'luglio', 'agosto', 'settembre', 'ottobre', 'novembre', 'dicembre'],
  ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
  ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
];

export const USER_AGENT_TEMPLATES = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.{build}.{patch} Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{minor}.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:{major}.0) Gecko/20100101 Firefox/{major}.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_{minor} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
];
