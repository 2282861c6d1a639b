"""SP office (district police) office type for qms-engine: the district over its stations."""
