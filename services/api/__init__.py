"""api: serves rankings, unit detail and overdue dossiers from what scoring maintains."""
