//! Subcommands of the binary besides `run`: `quickstart` and `catalogue --as`.

pub mod inspect;
pub mod quickstart;
