"""Terminal output: rich tables for humans, the same data as JSON for machines."""
