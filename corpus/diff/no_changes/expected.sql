No changes: b.dbml matches a.dbml.
