//! Charts as SVG drawn on the server: no script, no external library, readable by a screen
//! reader (a title, a description, and each bar's value in its `<title>`), and checkable by a
//! test (each bar carries its label and total as data attributes).

use std::fmt::Write as _;

/// One bar: its label (a month) and its stacked segments (series name, value).
pub struct Bar {
    pub label: String,
    pub segments: Vec<(String, i64)>,
}

/// Colours of the series, in order: each at least 3:1 against `BACKGROUND` (WCAG 2.1, 1.4.11,
/// graphical objects). Stacked segments are separated by a line of the background's colour, so
/// each segment borders the background, not another series' colour.
pub const COLOURS: [&str; 4] = ["#1d4e89", "#b5441a", "#2e6b34", "#6b3a8a"];
/// The chart's own background, drawn under it (not inherited from the page).
pub const BACKGROUND: &str = "#ffffff";
/// The labels' and the legend's text colour: at least 4.5:1 against `BACKGROUND` (1.4.3).
pub const TEXT_COLOUR: &str = "#1a1a1a";
/// Width of the background-coloured line between stacked segments.
const SEPARATOR: i64 = 1;

const WIDTH: i64 = 720;
const HEIGHT: i64 = 240;
const MARGIN: i64 = 30;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A stacked bar chart. `format` writes a value for people (amounts as `1.250.000 ₫`).
/// `id` names the chart on its page (its element id and its title's).
pub fn stacked(id: &str, title: &str, bars: &[Bar], format: impl Fn(i64) -> String) -> String {
    let max = bars
        .iter()
        .map(|b| b.segments.iter().map(|s| s.1.max(0)).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let series: Vec<&str> = {
        let mut names: Vec<&str> = Vec::new();
        for s in bars.iter().flat_map(|b| &b.segments) {
            if !names.contains(&s.0.as_str()) {
                names.push(&s.0);
            }
        }
        names
    };
    let n = bars.len().max(1) as i64;
    let slot = (WIDTH - 2 * MARGIN) / n;
    let bar_width = (slot * 2 / 3).max(4);
    let plot = HEIGHT - 2 * MARGIN;
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        r#"<svg class="chart" id="chart-{id}" viewBox="0 0 {WIDTH} {h}" role="img" aria-labelledby="chart-{id}-title" xmlns="http://www.w3.org/2000/svg"><title id="chart-{id}-title">{t}</title>"#,
        id = escape(id),
        h = HEIGHT + 20,
        t = escape(title)
    );
    let _ = write!(
        svg,
        r#"<rect class="background" x="0" y="0" width="{WIDTH}" height="{h}" fill="{BACKGROUND}"/>"#,
        h = HEIGHT + 20
    );
    for (i, bar) in bars.iter().enumerate() {
        let total: i64 = bar.segments.iter().map(|s| s.1).sum();
        let x = MARGIN + i as i64 * slot + (slot - bar_width) / 2;
        let _ = write!(
            svg,
            r#"<g class="bar" data-label="{l}" data-total="{total}"><title>{l}: {v}</title>"#,
            l = escape(&bar.label),
            v = escape(&format(total))
        );
        let mut y = HEIGHT - MARGIN;
        for (name, value) in &bar.segments {
            let h = value.max(&0) * plot / max;
            y -= h;
            let colour =
                COLOURS[series.iter().position(|s| s == name).unwrap_or(0) % COLOURS.len()];
            let _ = write!(
                svg,
                r#"<rect x="{x}" y="{y}" width="{bar_width}" height="{h}" fill="{colour}" stroke="{BACKGROUND}" stroke-width="{SEPARATOR}"><title>{l} {s}: {v}</title></rect>"#,
                l = escape(&bar.label),
                s = escape(name),
                v = escape(&format(*value))
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{cx}" y="{ty}" font-size="11" text-anchor="middle" fill="{TEXT_COLOUR}">{l}</text></g>"#,
            cx = x + bar_width / 2,
            ty = HEIGHT - MARGIN + 14,
            l = escape(&bar.label)
        );
    }
    for (i, name) in series.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{y}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{ty}" font-size="11" fill="{TEXT_COLOUR}">{n}</text>"#,
            x = MARGIN + i as i64 * 150,
            y = HEIGHT + 2,
            c = COLOURS[i % COLOURS.len()],
            tx = MARGIN + i as i64 * 150 + 14,
            ty = HEIGHT + 11,
            n = escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_label_with_its_total_and_escaped_text() {
        let bars = vec![
            Bar {
                label: "06/2024".into(),
                segments: vec![("NCC".into(), 300), ("BTXH".into(), 200)],
            },
            Bar {
                label: "07/2024".into(),
                segments: vec![("NCC".into(), 100)],
            },
        ];
        let svg = stacked("payouts", "Chi trả <12 tháng>", &bars, |v| v.to_string());
        assert_eq!(svg.matches(r#"<g class="bar""#).count(), 2);
        assert!(svg.contains(r#"data-label="06/2024" data-total="500""#));
        assert!(svg.contains(r#"data-label="07/2024" data-total="100""#));
        assert!(svg.contains("Chi trả &lt;12 tháng&gt;"));
        assert!(!svg.contains("<12"));
    }
}
