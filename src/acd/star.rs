//! Agent star codes dialled from a phone: `*45` login, `*46` logout, `*47[reason]`
//! pause (the digits after `*47` are the reason code, `"break"` when none), `*48`
//! unpause, `*49` end wrap-up.

use super::agent::AgentOp;

/// Parses a dialled string into an agent op; `None` when it is not an agent code.
pub fn parse(dialled: &str) -> Option<AgentOp> {
    let rest = dialled.strip_prefix('*')?;
    let (code, tail) = (rest.get(..2)?, rest.get(2..)?);
    let op = match code {
        "45" => AgentOp::Login,
        "46" => AgentOp::Logout,
        "47" => {
            let reason = tail.trim_start_matches(['*', '#']);
            if !reason.chars().all(|c| c.is_ascii_alphanumeric()) {
                return None;
            }
            return Some(AgentOp::Pause {
                reason: if reason.is_empty() {
                    "break".into()
                } else {
                    reason.to_string()
                },
            });
        }
        "48" => AgentOp::Unpause,
        "49" => AgentOp::EndWrapUp,
        _ => return None,
    };
    tail.is_empty().then_some(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_ops() {
        assert_eq!(parse("*45"), Some(AgentOp::Login));
        assert_eq!(parse("*46"), Some(AgentOp::Logout));
        assert_eq!(
            parse("*47"),
            Some(AgentOp::Pause {
                reason: "break".into()
            })
        );
        assert_eq!(
            parse("*4703"),
            Some(AgentOp::Pause {
                reason: "03".into()
            })
        );
        assert_eq!(
            parse("*47*12"),
            Some(AgentOp::Pause {
                reason: "12".into()
            })
        );
        assert_eq!(parse("*48"), Some(AgentOp::Unpause));
        assert_eq!(parse("*49"), Some(AgentOp::EndWrapUp));
    }

    #[test]
    fn other_strings_are_not_agent_codes() {
        for s in [
            "45", "*4", "*44", "*451", "*48#", "1001", "", "*", "*é5", "*47 x",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }
}
