package postgres

// SetSweepWindow makes Purge's sweep read n users per statement, so that
// a test can cross windows with few users.
func SetSweepWindow(s *Store, n int) { s.sweepWindow = n }
