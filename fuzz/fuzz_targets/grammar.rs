//! Feeds arbitrary text to the console's grammar (ctl::Terminal): every line of the input is
//! typed, asked `?` and Tab in user, system, ACL (IPv4/IPv6, basic/advanced) and interface
//! view; what parses is rendered back (configuration line, `|` filters) and what fails is
//! rendered with its caret. Nothing may panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::ctl::{Terminal, View};

/// A console in each view, reached the way an operator would get there.
fn terminals() -> Vec<Terminal> {
    let mut out = vec![Terminal::new("H3C")];
    let mut system = Terminal::new("H3C");
    let _ = system.execute("system-view");
    out.push(system.clone());
    for acl in [
        "acl basic 2000",
        "acl advanced 3000",
        "acl ipv6 basic 2001",
        "acl ipv6 advanced 3001",
    ] {
        let mut s = system.clone();
        let _ = s.execute(acl);
        out.push(s);
    }
    let mut interface = system;
    interface.enter_view(View::Interface {
        name: "GigabitEthernet1/0/1".into(),
    });
    out.push(interface);
    out
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for mut s in terminals() {
        for line in text.split('\n') {
            let _ = s.help(line);
            let c = s.complete(line);
            assert!(c.start <= line.len());
            let prompt = s.prompt();
            match s.execute(line) {
                Ok(Some((cmd, _))) => {
                    let _ = cmd.action.config_line();
                    let _ = cmd.pipe.apply("a\nb\n#\nc");
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = e.caret_lines(&prompt);
                    let _ = e.render(&prompt, line);
                }
            }
            if s.is_closed() {
                break;
            }
        }
        s.ctrl_z();
        let _ = s.help("");
    }
});
