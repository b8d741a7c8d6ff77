//! The engine's own pieces: tokens and quoting, the `?` layout, typed arguments, the derived
//! `undo` forms.

use super::*;
use crate::ctl::view::{View, bits};
use proptest::prelude::*;

fn texts(line: &str) -> Vec<(String, usize)> {
    tokenize(line)
        .unwrap()
        .into_iter()
        .map(|t| (t.text, t.col))
        .collect()
}

#[test]
fn tokens_carry_their_columns_and_lose_their_quotes() {
    assert_eq!(
        texts("  display  session"),
        [("display".into(), 2), ("session".into(), 11)]
    );
    assert_eq!(
        texts(r#"sysname "a b" "x\"y\\z" "\d""#),
        [
            ("sysname".into(), 0),
            ("a b".into(), 8),
            (r#"x"y\z"#.into(), 14),
            (r"\d".into(), 24)
        ]
    );
    // Columns count characters, not bytes.
    assert_eq!(texts("é x"), [("é".into(), 0), ("x".into(), 2)]);
    assert_eq!(
        tokenize(r#"a "open"#),
        Err(CliError {
            kind: ErrorKind::Wrong,
            column: 2
        })
    );
}

#[test]
fn help_layout() {
    let items = [
        HelpItem {
            label: "debugging".into(),
            help: "Enable to display debugging logs on the current terminal".into(),
        },
        HelpItem {
            label: "monitor".into(),
            help: "Enable to display logs on the current terminal".into(),
        },
    ];
    // §1.2's `terminal ?` example.
    assert_eq!(
        render_help(&items),
        "  debugging  Enable to display debugging logs on the current terminal\n  monitor    Enable to display logs on the current terminal"
    );
}

#[test]
fn argument_kinds() {
    let int = ArgKind::Int { min: 1, max: 100 };
    assert!(int.accepts("1") && int.accepts("100"));
    for bad in ["0", "101", "+5", "-1", "0x10", "", "99999999999"] {
        assert!(!int.accepts(bad), "{bad}");
    }
    assert!(ArgKind::Wildcard.accepts("0") && ArgKind::Wildcard.accepts("0.0.0.255"));
    assert!(ArgKind::Ipv6Prefix.accepts("2001:db8::/32"));
    assert!(!ArgKind::Ipv6Prefix.accepts("2001:db8::/0"));
    assert!(!ArgKind::Ipv6Prefix.accepts("2001:db8::"));
    assert!(ArgKind::CfgFile.accepts("a.CFG") && !ArgKind::CfgFile.accepts(".cfg"));
    assert!(!ArgKind::CfgFile.accepts("éé.cf"));
    let s = ArgKind::Str { min: 1, max: 3 };
    assert!(s.accepts("abc") && !s.accepts("abcd") && !s.accepts("a?"));
}

#[test]
fn undo_forms_leave_out_set_values_and_make_parts_optional() {
    let kw = |word| Syn::Kw {
        word,
        help: "".into(),
        slot: None,
    };
    // `timer [fast] SECONDS`; its undo form is `undo timer [fast]`.
    let syn = Syn::Seq(vec![
        kw("timer"),
        Syn::UndoOptional(Box::new(kw("fast"))),
        Syn::SetOnly(Box::new(Syn::Arg {
            kind: ArgKind::Int { min: 1, max: 9 },
            help: "".into(),
            slot: "seconds",
        })),
    ]);
    let g = Grammar::new(Def::set_and_undo(bits::SYSTEM, syn, |m, _| Ok(m.is_undo())).into());
    let parse = |line: &str| {
        g.parse(&View::System, line)
            .map(|p| p.map(|p| p.action))
            .map_err(|e| (e.kind, e.column))
    };
    assert_eq!(parse("timer fast 5"), Ok(Some(false)));
    assert_eq!(parse("timer 5"), Err((ErrorKind::Unrecognized, 6)));
    assert_eq!(parse("timer fast"), Err((ErrorKind::Incomplete, 10)));
    assert_eq!(parse("undo timer"), Ok(Some(true)));
    assert_eq!(parse("no timer fast"), Ok(Some(true)));
    assert_eq!(parse("undo timer fast 5"), Err((ErrorKind::TooMany, 16)));
}

proptest! {
    #[test]
    fn quoting_survives_tokenizing(s in "\\PC{0,40}") {
        let q = quote(&s);
        let toks = tokenize(&q).unwrap();
        prop_assert_eq!(toks.len(), 1);
        prop_assert_eq!(&toks[0].text, &s);
    }
}
