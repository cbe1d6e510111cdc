//! Reading a lead list from CSV (RFC 4180, via the `csv` crate) into validated rows.
//!
//! The first line is the header. The phone column is the one named in [`CsvOptions`], else
//! the first header called `phone`, `number` or `phone_number` (any case). An optional
//! time-zone column (`timezone`, `tz`, `time_zone`, or the configured name) holds IANA
//! names; without one (or where a row leaves it blank) the zone comes from the number
//! ([`super::zone`]). An optional `priority` column holds an integer (higher first). Every
//! other column is kept, by header name, as the lead's screen-pop fields.
//!
//! Each data row yields either a [`ParsedLead`] or a [`RowError`] naming its line (the
//! file's physical line, counting the header as line 1) and the reason; one bad row never
//! stops the others.

use std::io::Read;

use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::phone::{normalise, PhoneError, Region, E164};
use super::zone::{zone_for, ZoneSource};
use super::ListError;

/// How to read a list.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Header of the phone column (default: first of phone/number/phone_number).
    pub phone_column: Option<String>,
    /// Header of the time-zone column (default: timezone/tz/time_zone if present).
    pub timezone_column: Option<String>,
    /// Country of numbers written without a country code.
    pub default_region: Option<Region>,
    /// Field delimiter (default `,`).
    pub delimiter: Option<u8>,
}

/// One good row.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLead {
    /// Physical line in the file.
    pub line: u64,
    pub phone: E164,
    pub tz: Tz,
    pub zone_source: ZoneSource,
    pub priority: i32,
    /// The other columns, by header.
    pub fields: Map<String, Value>,
}

/// Why a row was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    /// The row could not be read as CSV (e.g. invalid UTF-8).
    #[error("unreadable CSV row: {0}")]
    Malformed(String),
    /// The row has no value in the phone column.
    #[error("no phone column value")]
    MissingPhone,
    /// The phone number was refused.
    #[error("{0}")]
    Phone(#[from] PhoneError),
    /// The time-zone column holds something that is not an IANA zone name.
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    /// No time-zone column value and the number's region has no known zone.
    #[error("no time zone known for region {0}; add a timezone column")]
    NoTimeZone(String),
    /// The priority column is not an integer.
    #[error("priority {0:?} is not an integer")]
    BadPriority(String),
}

/// A refused row: where and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// Physical line in the file (the header is line 1).
    pub line: u64,
    /// The reason, in words.
    pub reason: String,
    #[serde(skip)]
    pub problem: RowProblem,
}

impl RowError {
    fn new(line: u64, problem: RowProblem) -> Self {
        RowError {
            line,
            reason: problem.to_string(),
            problem,
        }
    }
}

const PHONE_HEADERS: [&str; 3] = ["phone", "number", "phone_number"];
const TZ_HEADERS: [&str; 3] = ["timezone", "tz", "time_zone"];

/// An iterator over a CSV list's rows, good or bad.
///
/// Reading and parsing are separable: [`CsvLeads::read_raw`] takes records off the file
/// (fast, in order) and [`RowParser::parse`] turns each into a lead or an error (the
/// expensive part: E.164 and zones), so an import can parse chunks on several threads.
pub struct CsvLeads<R: Read> {
    records: csv::StringRecordsIntoIter<R>,
    parser: RowParser,
}

/// A record read off the file with its line, or why it could not be read.
#[derive(Debug, Clone)]
pub struct RawRow(Result<(csv::StringRecord, u64), RowError>);

/// What turns a [`RawRow`] into a lead: the column layout and the default country.
/// Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct RowParser {
    headers: Vec<String>,
    /// Screen-pop field names by column (the header, or `column_N` when blank).
    keys: Vec<String>,
    phone: usize,
    tz: Option<usize>,
    priority: Option<usize>,
    default_region: Option<Region>,
}

impl<R: Read> std::fmt::Debug for CsvLeads<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvLeads")
            .field("headers", &self.parser.headers)
            .finish()
    }
}

impl<R: Read> CsvLeads<R> {
    /// Reads the header and finds the columns. Fails when there is no header or no phone
    /// column.
    pub fn new(reader: R, options: &CsvOptions) -> Result<Self, ListError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .delimiter(options.delimiter.unwrap_or(b','))
            .from_reader(reader);
        let headers: Vec<String> = csv
            .headers()
            .map_err(|e| ListError::Header(e.to_string()))?
            .iter()
            .map(str::to_owned)
            .collect();
        let find = |names: &[&str]| {
            headers
                .iter()
                .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
        };
        let phone = match &options.phone_column {
            Some(name) => find(&[name.as_str()]),
            None => find(&PHONE_HEADERS),
        }
        .ok_or_else(|| ListError::NoPhoneColumn {
            wanted: options
                .phone_column
                .clone()
                .unwrap_or_else(|| PHONE_HEADERS.join("/")),
            headers: headers.clone(),
        })?;
        let tz = match &options.timezone_column {
            Some(name) => {
                Some(
                    find(&[name.as_str()]).ok_or_else(|| ListError::NoTimeZoneColumn {
                        wanted: name.clone(),
                        headers: headers.clone(),
                    })?,
                )
            }
            None => find(&TZ_HEADERS),
        };
        let priority = find(&["priority"]);
        let keys = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if h.is_empty() {
                    format!("column_{}", i + 1)
                } else {
                    h.clone()
                }
            })
            .collect();
        Ok(CsvLeads {
            records: csv.into_records(),
            parser: RowParser {
                headers,
                keys,
                phone,
                tz,
                priority,
                default_region: options.default_region,
            },
        })
    }

    /// The header row.
    pub fn headers(&self) -> &[String] {
        &self.parser.headers
    }

    /// The parser for this file's rows.
    pub fn parser(&self) -> &RowParser {
        &self.parser
    }

    /// Reads up to `n` records (fewer at the end of the file) into `out`, in file order;
    /// returns how many.
    pub fn read_raw(&mut self, n: usize, out: &mut Vec<RawRow>) -> usize {
        let before = out.len();
        for record in self.records.by_ref().take(n) {
            out.push(RawRow(match record {
                Ok(record) => {
                    let line = record.position().map_or(0, |p| p.line());
                    Ok((record, line))
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    Err(RowError::new(line, RowProblem::Malformed(e.to_string())))
                }
            }));
        }
        out.len() - before
    }
}

impl RowParser {
    /// One row: a lead or the reason it was refused, with its line.
    pub fn parse(&self, raw: RawRow) -> Result<ParsedLead, RowError> {
        let (record, line) = raw.0?;
        self.parse_record(&record, line)
            .map_err(|problem| RowError::new(line, problem))
    }

    fn parse_record(
        &self,
        record: &csv::StringRecord,
        line: u64,
    ) -> Result<ParsedLead, RowProblem> {
        let raw = record
            .get(self.phone)
            .filter(|v| !v.is_empty())
            .ok_or(RowProblem::MissingPhone)?;
        let number = normalise(raw, self.default_region)?;
        let column_tz = self
            .tz
            .and_then(|i| record.get(i))
            .filter(|v| !v.is_empty());
        let (tz, zone_source) = match column_tz {
            Some(name) => (
                name.parse::<Tz>()
                    .map_err(|_| RowProblem::UnknownTimeZone(name.to_owned()))?,
                ZoneSource::Column,
            ),
            None => zone_for(&number).ok_or_else(|| {
                RowProblem::NoTimeZone(
                    number
                        .region
                        .map_or_else(|| "(non-geographic)".to_owned(), |r| r.as_ref().to_owned()),
                )
            })?,
        };
        let priority = match self
            .priority
            .and_then(|i| record.get(i))
            .filter(|v| !v.is_empty())
        {
            Some(p) => p
                .parse()
                .map_err(|_| RowProblem::BadPriority(p.to_owned()))?,
            None => 0,
        };
        let mut fields = Map::new();
        for (i, value) in record.iter().enumerate() {
            if i == self.phone || Some(i) == self.tz || Some(i) == self.priority {
                continue;
            }
            let key = match self.keys.get(i) {
                Some(k) => k.clone(),
                None => format!("column_{}", i + 1),
            };
            fields.insert(key, Value::String(value.to_owned()));
        }
        Ok(ParsedLead {
            line,
            phone: number.e164,
            tz,
            zone_source,
            priority,
            fields,
        })
    }
}

impl<R: Read> Iterator for CsvLeads<R> {
    type Item = Result<ParsedLead, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut one = Vec::with_capacity(1);
        self.read_raw(1, &mut one);
        one.pop().map(|raw| self.parser.parse(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::country::Id;

    fn rows(csv: &str, options: &CsvOptions) -> Vec<Result<ParsedLead, RowError>> {
        CsvLeads::new(csv.as_bytes(), options)
            .expect("header")
            .collect()
    }

    #[test]
    fn columns_are_found_and_kept() {
        let options = CsvOptions {
            default_region: Some(Id::US),
            ..CsvOptions::default()
        };
        let got = rows(
            "Name,Phone,TZ,priority,Plan\nAda,(415) 555-2671,America/Chicago,5,gold\n",
            &options,
        );
        let lead = got[0].as_ref().expect("good row");
        assert_eq!(lead.line, 2);
        assert_eq!(lead.phone.as_str(), "+14155552671");
        assert_eq!(lead.tz, chrono_tz::America::Chicago);
        assert_eq!(lead.zone_source, ZoneSource::Column);
        assert_eq!(lead.priority, 5);
        assert_eq!(lead.fields.get("Name"), Some(&Value::from("Ada")));
        assert_eq!(lead.fields.get("Plan"), Some(&Value::from("gold")));
        assert_eq!(lead.fields.len(), 2);
    }

    #[test]
    fn configured_columns_win() {
        let options = CsvOptions {
            phone_column: Some("mobile".into()),
            default_region: Some(Id::GB),
            delimiter: Some(b';'),
            ..CsvOptions::default()
        };
        let got = rows("number;mobile\n1;07911 123456\n", &options);
        let lead = got[0].as_ref().expect("good row");
        assert_eq!(lead.phone.as_str(), "+447911123456");
        assert_eq!(lead.fields.get("number"), Some(&Value::from("1")));
    }

    #[test]
    fn missing_phone_column_is_a_file_error() {
        let err = CsvLeads::new("name,email\n".as_bytes(), &CsvOptions::default())
            .expect_err("no phone column");
        assert!(matches!(err, ListError::NoPhoneColumn { .. }), "{err}");
    }

    #[test]
    fn bad_rows_name_their_line() {
        let options = CsvOptions {
            default_region: Some(Id::US),
            ..CsvOptions::default()
        };
        let got = rows(
            "phone,tz,priority\n\"multi\nline\",,\n,,\n(415) 555-2671,Mars/Olympus,\n(415) 555-2671,,high\n",
            &options,
        );
        let lines: Vec<u64> = got
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| e.line, |l| l.line))
            .collect();
        assert_eq!(lines, vec![2, 4, 5, 6]);
        assert!(matches!(&got[0], Err(e) if matches!(e.problem, RowProblem::Phone(_))));
        assert!(matches!(&got[1], Err(e) if e.problem == RowProblem::MissingPhone));
        assert!(matches!(&got[2], Err(e) if matches!(e.problem, RowProblem::UnknownTimeZone(_))));
        assert!(matches!(&got[3], Err(e) if matches!(e.problem, RowProblem::BadPriority(_))));
    }
}
