"""crimeassess: police recorded crime into a community-safety strategic assessment."""
__version__ = "0.1.0"
