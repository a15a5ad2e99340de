//! Subcommands of the binary besides `run`: `quickstart`, `catalogue --as` and `registry`; start-up errors that name
//! the setting to change.

pub mod inspect;
pub mod quickstart;
pub mod registry;
pub mod start;
