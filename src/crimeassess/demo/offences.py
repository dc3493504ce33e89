"""Home Office offence codes, their police.uk crime types and the behaviour the demo gives each.

Volumes are per 1,000 crimes and loosely follow the mix of police recorded crime in an English city
(violence and sexual offences ≈ 38%); they are the generator's own round numbers, not copied data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Offence:
    code: str
    description: str
    category_id: str  # police.uk crime type id
    group: str  # behaviour group: places, times and outcomes
    per_1000: float  # share of all crime (story offences are fixed separately)
    trend: float = 0.0  # yearly multiplicative drift of the share
    domestic: float = 0.0  # probability of the domestic abuse flag
    hate: float = 0.0  # probability of the hate crime flag
    knife: float = 0.0  # relative weight for the knife flag (only ONS "selected offences" are > 0)


V = "violence-and-sexual-offences"
OFFENCES: list[Offence] = [
    # Violence with injury
    Offence("1", "Homicide", V, "homicide", 0.12, domestic=0.3, knife=30),
    Offence("2", "Attempted murder", V, "violence", 0.25, domestic=0.2, knife=60),
    Offence("4.4", "Causing death or serious injury by dangerous driving", V, "misc", 0.15),
    Offence("4.8", "Causing death by careless or inconsiderate driving", V, "misc", 0.05),
    Offence("5D", "Assault with intent to cause serious harm", V, "violence", 6.0, domestic=0.2, hate=0.01, knife=25),
    Offence("5E", "Endangering life", V, "violence", 0.4, domestic=0.2),
    Offence("8N", "Assault with injury", V, "violence", 95.0, 0.01, domestic=0.33, hate=0.01, knife=1.2),
    Offence("8P", "Racially or religiously aggravated assault with injury", V, "violence", 1.2, hate=1.0, knife=1.2),
    Offence("8S", "Assault with injury on a constable", V, "violence", 2.5),
    # Violence without injury
    Offence("104", "Assault without injury on a constable", V, "violence", 8.0, 0.03),
    Offence("105A", "Assault without injury", V, "violence", 85.0, 0.03, domestic=0.33, hate=0.025),
    Offence("105B", "Racially or religiously aggravated assault without injury", V, "violence", 6.0, hate=1.0),
    Offence("3B", "Threats to kill", V, "violence", 6.0, 0.02, domestic=0.35, hate=0.02, knife=10),
    Offence("11A", "Cruelty to children/young persons", V, "harassment", 3.0, domestic=0.3),
    Offence("13", "Child abduction", V, "harassment", 0.2),
    Offence("36", "Kidnapping", V, "violence", 0.6, domestic=0.2),
    Offence("106", "Modern slavery", V, "misc", 0.8, 0.05),
    # Stalking and harassment
    Offence("8L", "Harassment", V, "harassment", 32.0, 0.05, domestic=0.36, hate=0.03),
    Offence("8M", "Racially or religiously aggravated harassment", V, "harassment", 4.0, hate=1.0),
    Offence("8Q", "Stalking", V, "harassment", 20.0, 0.12, domestic=0.45),
    Offence("8R", "Malicious Communications", V, "harassment", 40.0, 0.07, domestic=0.35, hate=0.04),
    # Sexual offences
    Offence("17A", "Sexual assault on a male aged 13 and over", V, "sexual", 1.5, 0.03, domestic=0.05, knife=0.15),
    Offence("17B", "Sexual assault on a male child under 13", V, "sexual", 0.6, domestic=0.1, knife=0.15),
    Offence("19C", "Rape of a female aged 16 and over", V, "sexual", 8.0, 0.04, domestic=0.3, knife=0.3),
    Offence("19D", "Rape of a female child under 16", V, "sexual", 2.0, domestic=0.15, knife=0.3),
    Offence("19E", "Rape of a female child under 13", V, "sexual", 1.2, domestic=0.2, knife=0.3),
    Offence("19F", "Rape of a male aged 16 and over", V, "sexual", 0.6, domestic=0.1, knife=0.3),
    Offence("19G", "Rape of a male child under 16", V, "sexual", 0.4, knife=0.3),
    Offence("19H", "Rape of a male child under 13", V, "sexual", 0.3, domestic=0.2, knife=0.3),
    Offence("20A", "Sexual assault on a female aged 13 and over", V, "sexual", 8.0, 0.03, domestic=0.08, knife=0.15),
    Offence("20B", "Sexual assault on a female child under 13", V, "sexual", 1.8, domestic=0.1, knife=0.15),
    Offence("21", "Sexual activity involving a child under 13", V, "sexual", 1.0),
    Offence("22B", "Sexual activity involving child under 16", V, "sexual", 1.5),
    Offence("71", "Abuse of children through sexual exploitation", V, "sexual", 0.5),
    Offence("88A", "Sexual grooming", V, "sexual", 0.6),
    Offence("88E", "Exposure and voyeurism", V, "sexual", 3.0, domestic=0.02),
    # Robbery (volume fixed by a planted story)
    Offence("34A", "Robbery of business property", "robbery", "robbery", 0.0, knife=12),
    Offence("34B", "Robbery of personal property", "robbery", "robbery", 0.0, knife=12),
    # Burglary: residential volume fixed by a planted story
    Offence("28E", "Burglary Residential", "burglary", "burglary_res", 0.0, domestic=0.02),
    Offence("28F", "Attempted Burglary Residential", "burglary", "burglary_res", 0.0),
    Offence("28G", "Distraction Burglary Residential", "burglary", "burglary_res", 0.0),
    Offence("28H", "Attempted Distraction Burglary Residential", "burglary", "burglary_res", 0.0),
    Offence("29A", "Aggravated Burglary Residential", "burglary", "burglary_res", 0.0),
    Offence("30C", "Burglary Business and Community", "burglary", "burglary_non", 18.0, -0.02),
    Offence("30D", "Attempted Burglary Business and Community", "burglary", "burglary_non", 4.0),
    Offence("31A", "Aggravated Burglary Business and Community", "burglary", "burglary_non", 0.2),
    # Vehicle crime
    Offence("45", "Theft from vehicle", "vehicle-crime", "vehicle", 38.0, -0.02),
    Offence("48", "Theft or unauthorised taking of motor vehicle", "vehicle-crime", "vehicle", 15.0, 0.02),
    Offence("126", "Interfering with a motor vehicle", "vehicle-crime", "vehicle", 5.0),
    Offence("37.2", "Aggravated vehicle taking", "vehicle-crime", "vehicle", 1.0),
    # Theft
    Offence("39", "Theft from the person", "theft-from-the-person", "theft_person", 14.0, 0.03),
    Offence("44", "Theft or unauthorised taking of a pedal cycle", "bicycle-theft", "bicycle", 16.0, -0.03),
    Offence("46", "Shoplifting", "shoplifting", "shoplifting", 70.0, 0.08),
    Offence("49", "Other theft", "other-theft", "other_theft", 70.0),
    Offence("49A", "Making off without payment", "other-theft", "other_theft", 8.0),
    Offence("40", "Theft in a dwelling other than from an automatic machine or meter", "other-theft", "other_theft", 4.0, domestic=0.1),
    Offence("41", "Theft by an employee", "other-theft", "other_theft", 1.5),
    Offence("47", "Theft from automatic machine or meter", "other-theft", "other_theft", 0.5),
    Offence("35", "Blackmail", "other-theft", "other_theft", 1.5, 0.05),
    Offence("42", "Theft of mail", "other-theft", "other_theft", 0.3),
    # Criminal damage and arson
    Offence("58A", "Criminal damage to a dwelling", "criminal-damage-arson", "damage", 25.0, -0.01, domestic=0.25, hate=0.01),
    Offence("58B", "Criminal damage to a building other than a dwelling", "criminal-damage-arson", "damage", 12.0, hate=0.01),
    Offence("58C", "Criminal damage to a vehicle", "criminal-damage-arson", "damage", 30.0, -0.01, domestic=0.08),
    Offence("58D", "Other criminal damage", "criminal-damage-arson", "damage", 14.0, domestic=0.05, hate=0.01),
    Offence("58J", "Racially or religiously aggravated criminal damage", "criminal-damage-arson", "damage", 1.0, hate=1.0),
    Offence("56A", "Arson endangering life", "criminal-damage-arson", "damage", 0.8, domestic=0.1),
    Offence("56B", "Arson not endangering life", "criminal-damage-arson", "damage", 6.0, domestic=0.05),
    # Public order
    Offence("9A", "Public fear, alarm or distress", "public-order", "public_order", 55.0, 0.02, domestic=0.06, hate=0.08),
    Offence("9B", "Racially or religiously aggravated public fear, alarm or distress", "public-order", "public_order", 7.0, hate=1.0),
    Offence("62A", "Violent disorder", "public-order", "public_order", 0.6),
    Offence("66", "Other offences against the State or public order", "public-order", "public_order", 6.0),
    # Drugs
    Offence("92A", "Trafficking in controlled drugs", "drugs", "drugs", 4.0, 0.02),
    Offence("92C", "Other drug offences", "drugs", "drugs", 0.3),
    Offence("92D", "Possession of controlled drugs (excl. Cannabis)", "drugs", "drugs", 5.0),
    Offence("92E", "Possession of controlled drugs (Cannabis)", "drugs", "drugs", 14.0, -0.04),
    # Possession of weapons
    Offence("10A", "Possession of firearms with intent", "possession-of-weapons", "weapons", 0.2),
    Offence("10B", "Possession of firearms offences", "possession-of-weapons", "weapons", 0.4),
    Offence("10C", "Possession of other weapons", "possession-of-weapons", "weapons", 3.0),
    Offence("10D", "Possession of article with blade or point", "possession-of-weapons", "weapons", 6.0, 0.03),
    Offence("81", "Other firearms offences", "possession-of-weapons", "weapons", 0.4),
    Offence("90", "Other knives offences", "possession-of-weapons", "weapons", 0.3),
    # Miscellaneous crimes against society
    Offence("33", "Going equipped for stealing, etc", "other-crime", "misc", 0.8),
    Offence("54", "Handling stolen goods", "other-crime", "misc", 1.0),
    Offence("59", "Threat or possession with intent to commit criminal damage", "other-crime", "misc", 2.5),
    Offence("61", "Other forgery", "other-crime", "misc", 0.2),
    Offence("61A", "Possession of false documents", "other-crime", "misc", 0.2),
    Offence("79", "Perverting the course of justice", "other-crime", "misc", 1.5),
    Offence("802", "Dangerous driving", "other-crime", "misc", 2.0),
    Offence("83", "Bail offences", "other-crime", "misc", 2.0),
    Offence("86", "Obscene publications etc", "other-crime", "misc", 1.5, 0.05),
    Offence("95", "Disclosure, obstruction, false or misleading statements etc", "other-crime", "misc", 1.0),
    Offence("96", "Wildlife", "other-crime", "misc", 0.1),
    Offence("99", "Other notifiable offences", "other-crime", "misc", 4.0),
]

CODES = [o.code for o in OFFENCES]
CODE_INDEX = {o.code: i for i, o in enumerate(OFFENCES)}

ROBBERY_SPLIT = {"34A": 0.12, "34B": 0.88}
RESIDENTIAL_BURGLARY_SPLIT = {"28E": 0.78, "28F": 0.17, "28G": 0.025, "28H": 0.01, "29A": 0.015}
RESIDENTIAL_BURGLARY_CODES = tuple(RESIDENTIAL_BURGLARY_SPLIT)
#: ONS "selected offences" that can carry the knife or sharp instrument flag.
KNIFE_SELECTED_CODES = tuple(o.code for o in OFFENCES if o.knife > 0)

# Location types (force extracts use free-text location types; these are typical ones).
LOCATION_TYPES = [
    "Dwelling", "Street/road", "Licensed premises", "Shop/retail", "Supermarket", "Park/open space",
    "Car park", "Commercial premises", "Public transport", "Educational establishment", "Health premises",
    "Garage/shed", "Other",
]
LT = {name: i for i, name in enumerate(LOCATION_TYPES)}

# Location-type mix per behaviour group (for non-domestic crimes; domestic ones are mostly in dwellings).
LOCATION_MIX: dict[str, dict[str, float]] = {
    "violence": {"Dwelling": 0.30, "Street/road": 0.33, "Licensed premises": 0.13, "Shop/retail": 0.05,
                 "Park/open space": 0.05, "Public transport": 0.03, "Educational establishment": 0.04,
                 "Health premises": 0.03, "Car park": 0.02, "Other": 0.02},
    "homicide": {"Dwelling": 0.5, "Street/road": 0.35, "Park/open space": 0.1, "Licensed premises": 0.05},
    "harassment": {"Dwelling": 0.75, "Street/road": 0.1, "Educational establishment": 0.05, "Other": 0.1},
    "sexual": {"Dwelling": 0.55, "Street/road": 0.15, "Licensed premises": 0.08, "Park/open space": 0.07,
               "Educational establishment": 0.05, "Public transport": 0.04, "Other": 0.06},
    "robbery": {"Street/road": 0.62, "Shop/retail": 0.12, "Park/open space": 0.1, "Public transport": 0.06,
                "Dwelling": 0.05, "Car park": 0.05},
    "burglary_res": {"Dwelling": 0.86, "Garage/shed": 0.14},
    "burglary_non": {"Commercial premises": 0.45, "Garage/shed": 0.3, "Shop/retail": 0.12,
                     "Educational establishment": 0.05, "Health premises": 0.03, "Other": 0.05},
    "vehicle": {"Street/road": 0.6, "Car park": 0.25, "Dwelling": 0.15},
    "theft_person": {"Street/road": 0.4, "Licensed premises": 0.3, "Shop/retail": 0.15, "Public transport": 0.15},
    "bicycle": {"Street/road": 0.4, "Dwelling": 0.3, "Public transport": 0.1, "Educational establishment": 0.1,
                "Car park": 0.1},
    "shoplifting": {"Shop/retail": 0.6, "Supermarket": 0.4},
    "other_theft": {"Dwelling": 0.25, "Commercial premises": 0.2, "Street/road": 0.18, "Licensed premises": 0.08,
                    "Shop/retail": 0.12, "Health premises": 0.04, "Educational establishment": 0.05, "Other": 0.08},
    "damage": {"Dwelling": 0.4, "Street/road": 0.3, "Commercial premises": 0.1, "Park/open space": 0.06,
               "Car park": 0.06, "Educational establishment": 0.03, "Other": 0.05},
    "public_order": {"Street/road": 0.4, "Dwelling": 0.25, "Licensed premises": 0.15, "Shop/retail": 0.08,
                     "Public transport": 0.04, "Health premises": 0.03, "Other": 0.05},
    "drugs": {"Street/road": 0.55, "Park/open space": 0.15, "Dwelling": 0.15, "Licensed premises": 0.08,
              "Car park": 0.07},
    "weapons": {"Street/road": 0.65, "Park/open space": 0.1, "Dwelling": 0.15, "Licensed premises": 0.05,
                "Educational establishment": 0.05},
    "misc": {"Street/road": 0.45, "Dwelling": 0.2, "Other": 0.35},
}
DOMESTIC_LOCATION_MIX = {"Dwelling": 0.86, "Street/road": 0.09, "Other": 0.05}

# How much more crime in the most deprived places, per group (exponent on relative deprivation).
DEPRIVATION_EXPONENT = {
    "violence": 1.0, "homicide": 1.2, "harassment": 0.8, "sexual": 0.7, "robbery": 1.1, "burglary_res": 0.7,
    "burglary_non": 0.3, "vehicle": 0.5, "theft_person": 0.3, "bicycle": 0.2, "shoplifting": 0.2,
    "other_theft": 0.4, "damage": 0.9, "public_order": 0.9, "drugs": 1.3, "weapons": 1.2, "misc": 0.8,
    "asb": 0.9,
}

# Seasonality amplitude (peak in July when positive; burglary peaks in the dark winter months).
SEASON_AMPLITUDE = {
    "violence": 0.10, "homicide": 0.0, "harassment": 0.03, "sexual": 0.06, "robbery": -0.06, "burglary_res": -0.12,
    "burglary_non": -0.05, "vehicle": -0.04, "theft_person": 0.05, "bicycle": 0.25, "shoplifting": 0.02,
    "other_theft": 0.08, "damage": 0.08, "public_order": 0.10, "drugs": 0.06, "weapons": 0.08, "misc": 0.0,
    "asb": 0.25,
}

# Day of week weights, Monday first.
DOW = {
    "flat": [1, 1, 1, 1, 1, 1, 1],
    "violence": [0.92, 0.9, 0.92, 0.95, 1.06, 1.18, 1.12],
    "nte": [0.55, 0.5, 0.6, 0.8, 1.4, 2.2, 1.9],
    "shop": [1.05, 1.05, 1.05, 1.07, 1.08, 1.05, 0.7],
    "asb": [0.9, 0.9, 0.92, 0.95, 1.1, 1.2, 1.05],
}

# Hour-of-day weights (00..23) per time pattern.
HOURS = {
    "nte": [9, 8, 6, 4, 2, 1, 0.6, 0.5, 0.6, 0.8, 1, 1.2, 1.5, 1.6, 1.7, 1.9, 2.2, 2.6, 3, 3.6, 4.5, 5.5, 7, 8.5],
    "violence": [3, 2.4, 1.8, 1.2, 0.8, 0.6, 0.7, 1.2, 2, 2.6, 3, 3.4, 3.8, 4, 4.3, 5, 5.6, 5.8, 5.8, 5.6, 5.2, 4.8, 4.2, 3.6],
    "day": [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 2.5, 4, 5, 5.6, 6, 6, 5.8, 5.8, 5.6, 5, 4, 3, 2, 1.4, 0.8, 0.5],
    "burglary": [2.5, 2.2, 2, 1.8, 1.5, 1.2, 1.2, 1.6, 2.5, 3.2, 3.5, 3.4, 3.3, 3.4, 3.6, 4, 4.5, 5, 5.5, 5.4, 5, 4.4, 3.6, 3],
    "night": [4, 3.6, 3.2, 2.8, 2.2, 1.6, 1.4, 1.6, 2, 2.2, 2.3, 2.4, 2.6, 2.7, 2.8, 3, 3.3, 3.6, 4, 4.4, 4.8, 5, 5, 4.6],
}
TIME_PATTERN = {
    "violence": "violence", "homicide": "violence", "harassment": "day", "sexual": "violence", "robbery": "night",
    "burglary_res": "burglary", "burglary_non": "night", "vehicle": "night", "theft_person": "violence",
    "bicycle": "day", "shoplifting": "day", "other_theft": "day", "damage": "night", "public_order": "violence",
    "drugs": "night", "weapons": "night", "misc": "day",
}

# Extract outcomes (Home Office outcome framework wording) and their police.uk "Last outcome category".
EXTRACT_OUTCOMES: list[tuple[str, list[tuple[str, float]]]] = [
    ("Charged/summonsed", [
        ("Awaiting court outcome", 0.30), ("Offender sent to prison", 0.13), ("Offender given community sentence", 0.14),
        ("Offender fined", 0.10), ("Offender given suspended prison sentence", 0.07), ("Defendant found not guilty", 0.08),
        ("Court result unavailable", 0.10), ("Offender given conditional discharge", 0.05),
        ("Offender ordered to pay compensation", 0.03)]),
    ("Caution - adults", [("Offender given a caution", 1.0)]),
    ("Cannabis/khat warning", [("Offender given a drugs possession warning", 1.0)]),
    ("Penalty notice for disorder", [("Offender given penalty notice", 1.0)]),
    ("Community resolution", [("Local resolution", 1.0)]),
    ("Taken into consideration", [("Suspect charged as part of another case", 1.0)]),
    ("Prosecution not in the public interest", [("Formal action is not in the public interest", 1.0)]),
    ("Evidential difficulties: suspect identified; victim does not support further action",
     [("Unable to prosecute suspect", 1.0)]),
    ("Evidential difficulties: suspect identified; victim supports action", [("Unable to prosecute suspect", 1.0)]),
    ("Investigation complete: no suspect identified", [("Investigation complete; no suspect identified", 1.0)]),
    ("Action undertaken by another body", [("Action to be taken by another organisation", 1.0)]),
    ("Under investigation", [("Under investigation", 1.0)]),
]
OUTCOME_INDEX = {name: i for i, (name, _) in enumerate(EXTRACT_OUTCOMES)}
UNDER_INVESTIGATION = OUTCOME_INDEX["Under investigation"]

# Finalised outcome mix per behaviour group (names abbreviated by their first words).
OUTCOME_MIX: dict[str, dict[str, float]] = {
    "violence": {"Charged/summonsed": 0.08, "Caution - adults": 0.02, "Community resolution": 0.04,
                 "Evidential difficulties: suspect identified; victim does not support further action": 0.45,
                 "Evidential difficulties: suspect identified; victim supports action": 0.15,
                 "Investigation complete: no suspect identified": 0.18,
                 "Prosecution not in the public interest": 0.03, "Action undertaken by another body": 0.05},
    "sexual": {"Charged/summonsed": 0.06,
               "Evidential difficulties: suspect identified; victim does not support further action": 0.35,
               "Evidential difficulties: suspect identified; victim supports action": 0.30,
               "Investigation complete: no suspect identified": 0.15,
               "Prosecution not in the public interest": 0.04, "Action undertaken by another body": 0.10},
    "acquisitive": {"Charged/summonsed": 0.05, "Caution - adults": 0.01, "Community resolution": 0.03,
                    "Evidential difficulties: suspect identified; victim does not support further action": 0.08,
                    "Evidential difficulties: suspect identified; victim supports action": 0.05,
                    "Investigation complete: no suspect identified": 0.75, "Taken into consideration": 0.01,
                    "Prosecution not in the public interest": 0.02},
    "shoplifting": {"Charged/summonsed": 0.25, "Caution - adults": 0.03, "Community resolution": 0.07,
                    "Penalty notice for disorder": 0.02,
                    "Evidential difficulties: suspect identified; victim does not support further action": 0.05,
                    "Investigation complete: no suspect identified": 0.55,
                    "Prosecution not in the public interest": 0.03},
    "drugs": {"Charged/summonsed": 0.30, "Caution - adults": 0.10, "Cannabis/khat warning": 0.30,
              "Community resolution": 0.15, "Penalty notice for disorder": 0.05,
              "Evidential difficulties: suspect identified; victim supports action": 0.05,
              "Prosecution not in the public interest": 0.05},
    "weapons": {"Charged/summonsed": 0.60, "Caution - adults": 0.10, "Community resolution": 0.05,
                "Evidential difficulties: suspect identified; victim supports action": 0.20,
                "Prosecution not in the public interest": 0.05},
    "public_order": {"Charged/summonsed": 0.07, "Caution - adults": 0.02, "Community resolution": 0.05,
                     "Penalty notice for disorder": 0.03,
                     "Evidential difficulties: suspect identified; victim does not support further action": 0.40,
                     "Evidential difficulties: suspect identified; victim supports action": 0.15,
                     "Investigation complete: no suspect identified": 0.25,
                     "Prosecution not in the public interest": 0.03},
    "robbery": {"Charged/summonsed": 0.12,
                "Evidential difficulties: suspect identified; victim does not support further action": 0.20,
                "Evidential difficulties: suspect identified; victim supports action": 0.10,
                "Investigation complete: no suspect identified": 0.55, "Community resolution": 0.03},
    "misc": {"Charged/summonsed": 0.40, "Caution - adults": 0.05,
             "Evidential difficulties: suspect identified; victim supports action": 0.20,
             "Investigation complete: no suspect identified": 0.20, "Action undertaken by another body": 0.15},
}
OUTCOME_GROUP = {
    "violence": "violence", "homicide": "misc", "harassment": "violence", "sexual": "sexual", "robbery": "robbery",
    "burglary_res": "acquisitive", "burglary_non": "acquisitive", "vehicle": "acquisitive",
    "theft_person": "acquisitive", "bicycle": "acquisitive", "shoplifting": "shoplifting",
    "other_theft": "acquisitive", "damage": "acquisitive", "public_order": "public_order", "drugs": "drugs",
    "weapons": "weapons", "misc": "misc",
}


def mix_vector(mix: dict[str, float], index: dict[str, int]) -> np.ndarray:
    """A normalised probability vector over an index from a {name: weight} mix."""
    v = np.zeros(len(index))
    for name, w in mix.items():
        v[index[name]] = w
    return v / v.sum()
