"""REDCap: the jiareg project (instruments, fields, codes), its data dictionary, raw exports."""
