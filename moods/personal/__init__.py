"""The person, not the population: their resting-face baseline and their own word (self-reports, corrections)."""
