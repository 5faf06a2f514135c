//! WCAG AA contrast of the dashboard's stylesheet: every text colour against the background it
//! is drawn on has a contrast ratio of at least 4.5:1 (WCAG 2.1, 1.4.3), and the focus ring at
//! least 3:1 against the page (1.4.11). The pairs are read from `templates/web/style.css`
//! itself: a rule's `color` on its own `background`, else on the background of the rule its
//! selector sits in (`header.top a` on `header.top`), else on the page's (`body`); a rule with
//! a background and no colour carries the page's text colour.
//!
//! The SVG charts (`http::web::chart`) are checked by the same measure, read from a chart as the
//! server draws it: each bar's and legend key's fill at least 3:1 against the chart's background
//! (1.4.11, graphical objects), stacked segments separated by a line of that background, and
//! every label's text at least 4.5:1.

use std::collections::BTreeMap;

const CSS: &str = include_str!("../templates/web/style.css");

/// WCAG 2.1's AA minimum for normal text.
const TEXT_RATIO_MIN: f64 = 4.5;
/// WCAG 2.1's minimum for user-interface components (the focus ring).
const UI_RATIO_MIN: f64 = 3.0;

/// Each rule's selectors with its declarations (property → value), comments and media queries'
/// wrappers left out.
fn rules(css: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut text = String::new();
    let mut rest = css;
    while let Some(at) = rest.find("/*") {
        text.push_str(&rest[..at]);
        rest = &rest[at + 2 + rest[at + 2..].find("*/").expect("closed comment") + 2..];
    }
    text.push_str(rest);
    let mut out = Vec::new();
    let mut selector = String::new();
    let mut body = String::new();
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => {
                depth += 1;
                if selector.trim_start().starts_with('@') {
                    selector.clear();
                    depth -= 1;
                }
            }
            '}' => {
                if depth == 0 {
                    continue;
                }
                depth -= 1;
                let decls: BTreeMap<String, String> = body
                    .split(';')
                    .filter_map(|d| d.split_once(':'))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect();
                for s in selector.split(',') {
                    out.push((
                        s.split_whitespace().collect::<Vec<_>>().join(" "),
                        decls.clone(),
                    ));
                }
                selector.clear();
                body.clear();
            }
            _ if depth == 0 => selector.push(c),
            _ => body.push(c),
        }
    }
    out
}

/// The first `#rgb` or `#rrggbb` colour of a value.
fn colour(value: &str) -> Option<[f64; 3]> {
    let at = value.find('#')?;
    let hex: String = value[at + 1..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    let hex = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        6 => hex,
        _ => return None,
    };
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
    Some([channel(0), channel(2), channel(4)])
}

fn luminance([r, g, b]: [f64; 3]) -> f64 {
    let lin = |c: f64| match c <= 0.03928 {
        true => c / 12.92,
        false => ((c + 0.055) / 1.055).powf(2.4),
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

fn ratio(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

fn background(decls: &BTreeMap<String, String>) -> Option<[f64; 3]> {
    decls
        .get("background-color")
        .or_else(|| decls.get("background"))
        .and_then(|v| colour(v))
}

/// Every (selector, text colour, background) the stylesheet draws.
fn pairs() -> Vec<(String, [f64; 3], [f64; 3])> {
    let all = rules(CSS);
    let body = all.iter().find(|(s, _)| s == "body").expect("a body rule");
    let (page_text, page_bg) = (
        colour(&body.1["color"]).expect("body colour"),
        background(&body.1).expect("body background"),
    );
    // The background a selector is drawn on: its own, else that of the nearest rule whose
    // selector it extends by descendants, else the page's.
    let bg_of = |selector: &str, decls: &BTreeMap<String, String>| {
        background(decls).unwrap_or_else(|| {
            let words: Vec<&str> = selector.split(' ').collect();
            (1..words.len())
                .rev()
                .find_map(|n| {
                    let outer = words[..n].join(" ");
                    all.iter()
                        .filter(|(s, _)| *s == outer)
                        .find_map(|(_, d)| background(d))
                })
                .unwrap_or(page_bg)
        })
    };
    all.iter()
        .filter(|(_, d)| d.contains_key("color") || background(d).is_some())
        .map(|(s, d)| {
            let text = d.get("color").and_then(|v| colour(v)).unwrap_or(page_text);
            (s.clone(), text, bg_of(s, d))
        })
        .collect()
}

#[test]
fn every_text_colour_has_aa_contrast_on_its_background() {
    let pairs = pairs();
    // The rules the dashboard's text is drawn by are all read.
    for expected in [
        "body",
        "a",
        "header.top",
        "header.top a",
        "button",
        ".message",
        ".muted",
        ".late",
        ".ok",
    ] {
        assert!(
            pairs.iter().any(|(s, _, _)| s == expected),
            "{expected} not read: {pairs:?}"
        );
    }
    let low: Vec<String> = pairs
        .iter()
        .map(|(s, text, bg)| (s, ratio(*text, *bg)))
        .filter(|(_, r)| *r < TEXT_RATIO_MIN)
        .map(|(s, r)| format!("{s}: {r:.2}:1"))
        .collect();
    assert!(low.is_empty(), "below {TEXT_RATIO_MIN}:1: {low:?}");
}

#[test]
fn the_focus_ring_is_visible_on_the_page() {
    let all = rules(CSS);
    let ring = all
        .iter()
        .find(|(s, _)| s == "button:focus-visible")
        .expect("a :focus-visible outline for buttons");
    let outline = colour(&ring.1["outline"]).expect("an outline colour");
    let page = colour("#fff").unwrap();
    assert!(ratio(outline, page) >= UI_RATIO_MIN);
    for s in [
        "a:focus-visible",
        "input:focus-visible",
        "select:focus-visible",
    ] {
        assert!(all.iter().any(|(x, _)| x == s), "{s}");
    }
}

/// The elements of an SVG with their attributes: (tag, attribute → value).
fn svg_elements(svg: &str) -> Vec<(String, BTreeMap<String, String>)> {
    svg.split('<')
        .skip(1)
        .filter(|e| !e.starts_with('/'))
        .map(|e| {
            let head = &e[..e.find('>').expect("a closed tag")];
            let tag = head.split_whitespace().next().unwrap_or("").to_owned();
            let mut attrs = BTreeMap::new();
            let mut rest = &head[tag.len()..];
            while let Some(eq) = rest.find("=\"") {
                let name = rest[..eq].trim().to_owned();
                let value_at = eq + 2;
                let end = value_at + rest[value_at..].find('"').expect("a closed value");
                attrs.insert(name, rest[value_at..end].to_owned());
                rest = &rest[end + 1..];
            }
            (tag, attrs)
        })
        .collect()
}

#[test]
fn the_charts_bars_and_text_have_aa_contrast_on_the_charts_background() {
    use chitra::http::web::chart::{stacked, Bar, COLOURS};
    // Twelve months with a segment of every series, so every colour is drawn.
    let bars: Vec<Bar> = (1..=12)
        .map(|m| Bar {
            label: format!("{m:02}/2024"),
            segments: (0..COLOURS.len())
                .map(|i| (format!("series {i}"), 1_000_000 * (i as i64 + 1)))
                .collect(),
        })
        .collect();
    let svg = stacked("contrast", "contrast", &bars, |v| v.to_string());
    let elements = svg_elements(&svg);
    let background = elements
        .iter()
        .find(|(t, a)| t == "rect" && a.get("class").is_some_and(|c| c == "background"))
        .and_then(|(_, a)| colour(&a["fill"]))
        .expect("the chart draws its own background");
    let (mut bars_seen, mut texts) = (std::collections::BTreeSet::new(), 0);
    let mut low = Vec::new();
    for (tag, a) in &elements {
        match tag.as_str() {
            "rect" if a.get("class").is_none_or(|c| c != "background") => {
                let fill = a.get("fill").and_then(|f| colour(f)).expect("a bar's fill");
                bars_seen.insert(a["fill"].clone());
                let r = ratio(fill, background);
                if r < UI_RATIO_MIN {
                    low.push(format!("bar {}: {r:.2}:1", a["fill"]));
                }
                // A stacked segment is outlined in the background's colour, so it meets the
                // background rather than its neighbour's colour.
                if let Some(stroke) = a.get("stroke") {
                    assert_eq!(colour(stroke), Some(background), "{a:?}");
                }
            }
            "text" => {
                texts += 1;
                let fill = a
                    .get("fill")
                    .and_then(|f| colour(f))
                    .expect("a label drawn in a colour of its own, not inherited");
                let r = ratio(fill, background);
                if r < TEXT_RATIO_MIN {
                    low.push(format!("text {}: {r:.2}:1", a["fill"]));
                }
            }
            _ => {}
        }
    }
    assert_eq!(bars_seen.len(), COLOURS.len(), "every series colour read");
    assert_eq!(
        texts,
        12 + COLOURS.len(),
        "a label per month and per series"
    );
    let segments = elements
        .iter()
        .filter(|(t, a)| t == "rect" && a.contains_key("stroke"))
        .count();
    assert_eq!(
        segments,
        12 * COLOURS.len(),
        "every stacked segment outlined"
    );
    assert!(low.is_empty(), "below AA: {low:?}");
}

#[test]
fn the_checker_fails_a_pair_below_aa() {
    // A pale bar (#aaa on white, 2.32:1) would fail the 3:1 of graphical objects.
    assert!(ratio(colour("#aaa").unwrap(), colour("#fff").unwrap()) < UI_RATIO_MIN);
    // Grey #777 on white is 4.48:1, just under AA; #767676 is the lightest grey that passes.
    let white = colour("#fff").unwrap();
    assert!(ratio(colour("#777").unwrap(), white) < TEXT_RATIO_MIN);
    assert!(ratio(colour("#767676").unwrap(), white) >= TEXT_RATIO_MIN);
    let css = "body { color: #1a1a1a; background: #fff; } .pale { color: #999999; }";
    let r = rules(css);
    let pale = r.iter().find(|(s, _)| s == ".pale").unwrap();
    assert!(ratio(colour(&pale.1["color"]).unwrap(), white) < TEXT_RATIO_MIN);
}
