"""Group series: a named run of group sessions, its facilitators, its roster and who completed it (issue 17)."""
