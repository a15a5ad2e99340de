//! Start-up errors that name the setting to change. `runtime::start` reports a listener it could not
//! bind as `cannot listen on ADDR: REASON`; a newcomer then needs to know which port that was and where
//! to choose another: `--port` for `quickstart`, `binds[i].port` in the file for `run`.

use std::net::{IpAddr, SocketAddr};

use crate::config::GatewayConfig;

/// The address of a traffic listener that could not be bound, if that is what `error` says.
pub fn failed_bind(error: &str) -> Option<SocketAddr> {
    let rest = error.strip_prefix("cannot listen on ")?;
    let (address, _reason) = rest.split_once(": ")?;
    address.parse().ok()
}

/// `quickstart`'s start-up error: when its port cannot be bound, says so and points at `--port`.
pub fn quickstart(port: u16, error: &str) -> String {
    match failed_bind(error) {
        Some(address) if address.port() == port => {
            let other = port.checked_add(1).unwrap_or(8081);
            format!(
                "port {port} is not available ({error}); choose another with --port N, e.g. quickstart --port {other}"
            )
        }
        _ => error.to_string(),
    }
}

/// `run --config FILE`'s start-up error: when a bind's port cannot be bound, names that bind's `port`
/// field with its place in the file.
pub fn run(config: &GatewayConfig, error: &str) -> String {
    let Some(address) = failed_bind(error) else {
        return error.to_string();
    };
    // The bind with that address and port; else the first with that port (its address written another way).
    let find = |same_ip: bool| {
        config.binds.iter().enumerate().find(|(_, b)| {
            b.port == address.port()
                && (!same_ip || b.address.parse::<IpAddr>().ok() == Some(address.ip()))
        })
    };
    let Some((index, bind)) = find(true).or_else(|| find(false)) else {
        return error.to_string();
    };
    let at = &bind.location;
    format!(
        "{}:{}:{}: binds[{index}].port: port {} is not available ({error}); stop what listens there, or set binds[{index}].port to a free port",
        at.file, at.line, at.column, bind.port
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY: &str = "cannot listen on 127.0.0.1:8080: Address already in use (os error 98)";

    #[test]
    fn a_failed_bind_is_recognised_and_nothing_else() {
        assert_eq!(failed_bind(BUSY), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(
            failed_bind("cannot listen on [::1]:9000: Permission denied (os error 13)"),
            Some("[::1]:9000".parse().unwrap())
        );
        // The metrics port names its own field already.
        assert_eq!(
            failed_bind("observability.prometheus: cannot listen on 0.0.0.0:9090: in use"),
            None
        );
    }

    #[test]
    fn quickstart_points_at_the_port_flag() {
        let message = quickstart(8080, BUSY);
        assert!(message.starts_with("port 8080 is not available (cannot listen on 127.0.0.1:8080"));
        assert!(message.ends_with("choose another with --port N, e.g. quickstart --port 8081"));
        assert_eq!(quickstart(8080, "something else"), "something else");
    }

    #[test]
    fn run_names_the_binds_port_field() {
        let text = "binds:\n  - port: 7070\n    address: 127.0.0.1\n    listeners: []\n  - port: 8080\n    address: 127.0.0.1\n    listeners: []\n";
        let config = crate::config::load_str(text, "gateway.yaml")
            .unwrap()
            .config;
        let message = run(&config, BUSY);
        assert!(
            message.starts_with("gateway.yaml:5:5: binds[1].port: port 8080 is not available"),
            "{message}"
        );
        assert!(
            message.ends_with("or set binds[1].port to a free port"),
            "{message}"
        );
    }
}
