//! Subcommands of the binary besides `run`: `quickstart` and `catalogue --as`; start-up errors that name
//! the setting to change.

pub mod inspect;
pub mod quickstart;
pub mod start;
