//! Labels over time: calendar days, the period (week or month) chosen by
//! the span of the dates, and the count of each label per period.

use super::batch::Batch;

/// A calendar day (proleptic Gregorian), counted from 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i64);

impl Day {
    /// Parses `YYYY-MM-DD`; anything after the tenth character (a time, a
    /// zone) is ignored. `None` for anything else or a day that does not
    /// exist (`2026-02-30`).
    pub fn parse(s: &str) -> Option<Day> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !s.is_char_boundary(10) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = &s[r];
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())
                .flatten()
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        let day = Day(days_from_civil(y, m as u32, d as u32));
        (day.ymd() == (y, m as u32, d as u32)).then_some(day)
    }

    /// Year, month (1–12) and day of month (1–31).
    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.0)
    }

    /// Days from Monday: 0 for a Monday, 6 for a Sunday.
    pub fn weekday(self) -> i64 {
        // 1970-01-01 was a Thursday.
        (self.0 + 3).rem_euclid(7)
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// How long one period of the trend is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Weeks from Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
}

impl Granularity {
    /// Weeks when the dates span at most [`Granularity::WEEKS_UP_TO_DAYS`]
    /// days (at most 18 weekly points), months beyond: enough points to see
    /// a movement, few enough that each holds some sentences.
    pub fn for_span(first: Day, last: Day) -> Granularity {
        if last.0 - first.0 <= Self::WEEKS_UP_TO_DAYS {
            Granularity::Week
        } else {
            Granularity::Month
        }
    }

    /// The longest span, in days, drawn week by week.
    pub const WEEKS_UP_TO_DAYS: i64 = 120;

    /// The first day of the period holding `day`.
    pub fn start(self, day: Day) -> Day {
        match self {
            Granularity::Week => Day(day.0 - day.weekday()),
            Granularity::Month => {
                let (y, m, _) = day.ymd();
                Day(days_from_civil(y, m, 1))
            }
        }
    }

    /// The first day of the period after the one starting at `start`.
    pub fn next(self, start: Day) -> Day {
        match self {
            Granularity::Week => Day(start.0 + 7),
            Granularity::Month => {
                let (y, m, _) = start.ymd();
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                Day(days_from_civil(y, m, 1))
            }
        }
    }

    /// How a period starting at `start` is named: `2026-01` for a month,
    /// `2026-01-05` (its Monday) for a week.
    pub fn name(self, start: Day) -> String {
        match self {
            Granularity::Week => start.to_string(),
            Granularity::Month => {
                let (y, m, _) = start.ymd();
                format!("{y:04}-{m:02}")
            }
        }
    }

    /// `week` or `month`.
    pub fn noun(self) -> &'static str {
        match self {
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }
}

/// The sentences of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    /// Its first day.
    pub start: Day,
    /// Its name (see [`Granularity::name`]).
    pub name: String,
    /// Sentences per predicted class.
    pub counts: Vec<usize>,
    /// Articles dated in it.
    pub articles: usize,
}

impl Period {
    /// Sentences in the period.
    pub fn sentences(&self) -> usize {
        self.counts.iter().sum()
    }
}

/// Labels over time: one [`Period`] for every week or month from the
/// earliest date to the latest, empty ones included, so a gap shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// Week or month.
    pub granularity: Granularity,
    /// Periods in time order.
    pub periods: Vec<Period>,
    /// Articles without a readable date (left out of the trend).
    pub undated: usize,
}

impl Trend {
    /// The trend of `batch`, or `None` when no article has a readable date.
    pub fn of(batch: &Batch) -> Option<Trend> {
        let k = batch.classes.len();
        let dated: Vec<(Day, Vec<usize>)> = batch
            .articles
            .iter()
            .filter_map(|a| Some((Day::parse(a.date.as_deref()?)?, a.counts(k))))
            .collect();
        let first = dated.iter().map(|(d, _)| *d).min()?;
        let last = dated.iter().map(|(d, _)| *d).max()?;
        let granularity = Granularity::for_span(first, last);
        let mut periods = Vec::new();
        let mut start = granularity.start(first);
        while start <= last {
            periods.push(Period {
                start,
                name: granularity.name(start),
                counts: vec![0; k],
                articles: 0,
            });
            start = granularity.next(start);
        }
        for (day, counts) in &dated {
            let at = granularity.start(*day);
            // Periods are sorted by start and cover first..=last.
            let i = periods.partition_point(|p| p.start < at);
            let p = &mut periods[i];
            p.articles += 1;
            for (sum, c) in p.counts.iter_mut().zip(counts) {
                *sum += c;
            }
        }
        Some(Trend {
            granularity,
            periods,
            undated: batch.articles.len() - dated.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::batch::{Article, Sentence};
    use super::*;

    #[test]
    fn days_parse_and_print() {
        for (text, want) in [
            ("1970-01-01", Some("1970-01-01")),
            ("2024-02-29", Some("2024-02-29")),
            ("2026-11-23T18:00:00Z", Some("2026-11-23")),
            (" 2000-12-31 ", Some("2000-12-31")),
            ("2025-02-29", None),
            ("2026-13-01", None),
            ("2026-1-5", None),
            ("26-01-05xx", None),
            ("２０２６-01-05", None),
            ("", None),
        ] {
            assert_eq!(
                Day::parse(text).map(|d| d.to_string()).as_deref(),
                want,
                "{text}"
            );
        }
        assert_eq!(Day::parse("2026-11-23").unwrap().weekday(), 0); // a Monday
        assert_eq!(Day::parse("1969-12-28").unwrap().weekday(), 6); // a Sunday
    }

    #[test]
    fn period_by_span() {
        let d = |s| Day::parse(s).unwrap();
        for (first, last, want) in [
            ("2026-01-01", "2026-01-01", Granularity::Week),
            ("2026-01-01", "2026-05-01", Granularity::Week),
            ("2026-01-01", "2026-05-02", Granularity::Month),
            ("2016-01-01", "2026-01-01", Granularity::Month),
        ] {
            assert_eq!(
                Granularity::for_span(d(first), d(last)),
                want,
                "{first}..{last}"
            );
        }
        let w = Granularity::Week;
        assert_eq!(w.start(d("2026-01-11")).to_string(), "2026-01-05");
        assert_eq!(w.start(d("2026-01-05")).to_string(), "2026-01-05");
        assert_eq!(w.next(d("2025-12-29")).to_string(), "2026-01-05");
        let m = Granularity::Month;
        assert_eq!(m.start(d("2026-02-28")).to_string(), "2026-02-01");
        assert_eq!(m.next(d("2025-12-01")).to_string(), "2026-01-01");
        assert_eq!(m.name(d("2025-12-01")), "2025-12");
    }

    fn article(date: Option<&str>, labels: &[usize]) -> Article {
        Article {
            doc_id: "a".into(),
            source: None,
            title: None,
            date: date.map(String::from),
            sentences: labels
                .iter()
                .map(|&label| Sentence {
                    sentence_id: 1,
                    text: "T".into(),
                    label,
                    probabilities: vec![0.5, 0.5],
                    evidence: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn trend_has_every_period_from_first_to_last() {
        let batch = Batch {
            classes: vec!["x".into(), "y".into()],
            articles: vec![
                article(Some("2026-01-06"), &[0, 0, 1]),
                article(None, &[1]),
                article(Some("2026-01-27"), &[1]),
                article(Some("2026-01-07"), &[0]),
                article(Some("not a date"), &[0]),
            ],
        };
        let t = Trend::of(&batch).unwrap();
        assert_eq!(t.granularity, Granularity::Week);
        assert_eq!(t.undated, 2);
        let got: Vec<(&str, Vec<usize>, usize)> = t
            .periods
            .iter()
            .map(|p| (p.name.as_str(), p.counts.clone(), p.articles))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-01-05", vec![3, 1], 2),
                ("2026-01-12", vec![0, 0], 0),
                ("2026-01-19", vec![0, 0], 0),
                ("2026-01-26", vec![0, 1], 1),
            ]
        );
        let undated = Batch {
            classes: batch.classes.clone(),
            articles: vec![article(None, &[0])],
        };
        assert_eq!(Trend::of(&undated), None);
    }
}
