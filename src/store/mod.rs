//! The database seam.
