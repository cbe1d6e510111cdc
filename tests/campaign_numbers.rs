//! E.164 normalisation and time-zone derivation for lead lists, through the public API
//! (no database): national, international and garbage numbers; zones from a column, an
//! area code, a single-zone region or a multi-zone country's default; rows refused by line.

use switchboard::dialer::list::zone::{zone_for, ZoneSource};
use switchboard::dialer::list::{normalise, CsvLeads, CsvOptions, PhoneError, Region, RowProblem};

#[test]
fn national_and_international_numbers_normalise_to_e164() {
    let cases: &[(&str, Option<Region>, &str)] = &[
        ("(415) 555-2671", Some(Region::US), "+14155552671"),
        ("415.555.2671", Some(Region::US), "+14155552671"),
        ("1-415-555-2671", Some(Region::US), "+14155552671"),
        ("+1 (415) 555-2671", None, "+14155552671"),
        ("011 44 20 7946 0018", Some(Region::US), "+442079460018"),
        ("0044 20 7946 0018", Some(Region::US), "+442079460018"),
        ("020 7946 0018", Some(Region::GB), "+442079460018"),
        ("+44 (0)20 7946 0018", None, "+442079460018"),
        ("07911 123456", Some(Region::GB), "+447911123456"),
        ("030 901820", Some(Region::DE), "+4930901820"),
        ("01 42 68 53 00", Some(Region::FR), "+33142685300"),
        ("tel:+33-1-42-68-53-00", None, "+33142685300"),
        ("(02) 9374 4000", Some(Region::AU), "+61293744000"),
    ];
    for &(raw, region, want) in cases {
        let got = normalise(raw, region).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(got.e164.as_str(), want, "{raw}");
    }
}

#[test]
fn garbage_is_refused() {
    let cases: &[(&str, Option<Region>)] = &[
        ("", Some(Region::US)),
        ("n/a", Some(Region::US)),
        ("12", Some(Region::US)),
        ("555-2671", Some(Region::US)),
        ("(415) 555-26711234", Some(Region::US)),
        ("+999 123 456 789", None),
        ("4155552671", None),
        ("+44 20 7946", None),
    ];
    for &(raw, region) in cases {
        assert!(normalise(raw, region).is_err(), "{raw} should be refused");
    }
    assert_eq!(normalise("", Some(Region::US)), Err(PhoneError::Empty));
    assert_eq!(normalise("4155552671", None), Err(PhoneError::NoCountry));
}

#[test]
fn zones_come_from_area_codes_regions_or_a_flagged_default() {
    let zone = |raw: &str| {
        let n = normalise(raw, None).unwrap_or_else(|e| panic!("{raw}: {e}"));
        zone_for(&n).map(|(tz, source)| (tz.name().to_owned(), source))
    };
    let area = ZoneSource::AreaCode;
    assert_eq!(
        zone("+1 206 555 0100"),
        Some(("America/Los_Angeles".into(), area))
    );
    assert_eq!(
        zone("+1 713 555 0100"),
        Some(("America/Chicago".into(), area))
    );
    assert_eq!(
        zone("+1 808 555 0100"),
        Some(("Pacific/Honolulu".into(), area))
    );
    assert_eq!(
        zone("+1 403 555 0100"),
        Some(("America/Edmonton".into(), area))
    );
    assert_eq!(
        zone("+1 902 555 0100"),
        Some(("America/Halifax".into(), area))
    );
    assert_eq!(
        zone("+61 7 3123 4567"),
        Some(("Australia/Brisbane".into(), area))
    );
    assert_eq!(
        zone("+33 1 42 68 53 00"),
        Some(("Europe/Paris".into(), ZoneSource::Region))
    );
    assert_eq!(
        zone("+1 212 555 0100"),
        Some(("America/New_York".into(), ZoneSource::CountryDefault))
    );
    assert_eq!(
        zone("+52 55 1234 5678"),
        Some(("America/Mexico_City".into(), ZoneSource::CountryDefault))
    );
    // Non-geographic numbers have no region and so no zone.
    assert_eq!(zone("+800 1234 5678"), None);
}

#[test]
fn rows_without_a_derivable_zone_are_refused_unless_the_list_names_one() {
    let csv = "phone,timezone\n+800 1234 5678,\n+800 1234 5679,Europe/Paris\n";
    let rows: Vec<_> = CsvLeads::new(csv.as_bytes(), &CsvOptions::default())
        .expect("header")
        .collect();
    assert!(
        matches!(&rows[0], Err(e) if e.line == 2 && matches!(e.problem, RowProblem::NoTimeZone(_)))
    );
    let lead = rows[1].as_ref().expect("zone from the column");
    assert_eq!(lead.tz.name(), "Europe/Paris");
    assert_eq!(lead.zone_source, ZoneSource::Column);
}

#[test]
fn unreadable_rows_are_reported_and_reading_goes_on() {
    let mut csv = b"phone,name\n+14155552671,ok\n+14155552672,".to_vec();
    csv.extend_from_slice(&[0xff, 0xfe]);
    csv.extend_from_slice(b"\n+14155552673,fine\n");
    let rows: Vec<_> = CsvLeads::new(csv.as_slice(), &CsvOptions::default())
        .expect("header")
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].is_ok());
    assert!(
        matches!(&rows[1], Err(e) if e.line == 3 && matches!(e.problem, RowProblem::Malformed(_)))
    );
    assert_eq!(rows[2].as_ref().expect("good").line, 4);
}
