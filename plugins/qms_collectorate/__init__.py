"""District collectorate office type for qms-engine: desks, files, citizen-charter services and the record room."""
