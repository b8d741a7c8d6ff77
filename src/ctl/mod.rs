//! The operator console: the Comware CLI (command tree, views, rendering of the Comware
//! layouts). The control socket and the TTY client come with the console issue.

pub mod render;
