"""Source keys: where each clinical or device number comes from.

The keys are those of ``shared/reference/clinical-facts.md`` and ``safety-requirements.md``.
Code that encodes a number names its key here; an unknown key is a programming error that
the test suite catches.
"""

from __future__ import annotations

from typing import Final

SOURCES: Final[dict[str, str]] = {
    "M-PUMP": "Medtronic US, Pump management – ITB Therapy (patient page)",
    "M-ADV": "Medtronic product advisories, July 2011",
    "M-REPL": "Medtronic, Getting a replacement – baclofen pump",
    "M-MRI": "Medtronic, Effects of MRI on Medtronic drug infusion systems",
    "TGA-MRI": "TGA, SynchroMed II infusion pump: caution after MRI",
    "TGA-POCKET": "TGA recall RC-2013-RN-00678-1 (pocket fill)",
    "M-UK": "Medtronic UK, SynchroMed II pump page",
    "M-UK-PROG": "Medtronic UK, programming adjustments during treatment",
    "M-UK-QA": "Medtronic UK, getting therapy: questions and answers",
    "M-UK-STUDY": "Medtronic UK, ITB clinical outcomes study highlights",
    "M-HCP": "Medtronic HCP, SynchroMed II product page",
    "M-IFP": "SynchroMed/IsoMed information for prescribers",
    "M-PROD": "Medtronic professional, intrathecal drug delivery products",
    "M-PRIME": "Medtronic priming-bolus labeling update",
    "M-POCKET": "Medtronic 2011 urgent medical device correction – pocket fills",
    "M-CANCER": "Medtronic HCP, targeted drug delivery for cancer pain",
    "CAP": "Medtronic 8540 catheter access port kit, instructions for use",
    "GIL": "Gillette Children's, ITB discharge information",
    "NSURG04": "Neurosurgery 2004;55(2):390-3 (low-reservoir alarm volume)",
    "WESEMANN": "Wesemann et al., Reg Anesth Pain Med 2014;39:341 (SynchroMed II accuracy)",
    "ANZCA": "ANZCA safety alert, SynchroMed II over-infusion hazard",
    "DDB": "Drug Delivery Business, 2011 SynchroMed II battery warning",
    "NSA": "Neurosurgical Atlas, troubleshooting the SynchroMed pump",
    "FNS": "Functional neurosurgery, programming and refilling intrathecal pumps",
    "SEEK": "Effect of MRI on intrathecal pumps (secondary)",
    "SSN": "South Shore Neurologic, ITB refill management",
    "MAINO": "Maino, Perez, Koetsier. Neuromodulation 2017;20(7):733-739",
    "78STEPS": "Programmable pump implant check (historic device, secondary)",
    "SURGPRACT": "Surg Pract 2018;22(3):105-110 (refill infection, intervals)",
    "PROM": "Prometra II instructions for use",
    "PROM-MRI": "Prometra MRI information PL-21604-02",
    "PTC": "Prometra patient therapy controller guide",
    "CODMAN": "Codman 3000 constant-flow pump, patient support",
    "MEDGADGET": "Codman Medstream FDA approval (2012)",
    "FHL": "Tricumed constant-flow pumps (FH Lübeck)",
    "DRUGS-DOSE": "drugs.com baclofen dosage",
    "AHFS-M": "AHFS-style baclofen monograph (mirror, low provenance)",
    "MEDSCAPE1": "Medscape answers 2207448-173404",
    "MEDSCAPE2": "Medscape answers 2207448-173405",
    "CCN": "Critical Care Northampton, ITB screening",
    "LIO-AMP": "Lioresal Intrathecal ampules and refill kits",
    "LIO-SCR": "Lioresal Intrathecal screening trial",
    "FDA-NDC": "FDA NDC directory entries for intrathecal baclofen",
    "FDA-LAB": "FDA label, intrathecal baclofen boxed warning",
    "GAB-SUM": "Gablofen summary (secondary)",
    "EDW": "Gablofen drug page (secondary)",
    "RXL-GAB": "RxList Gablofen indications and dosage",
    "GAB-PT": "Gablofen patient page, intrathecal baclofen therapy",
    "DRUGLIB": "DrugLib Lioresal Intrathecal clinical pharmacology",
    "CLUSTER": "Baclofen injection label copy (clustermed)",
    "PILL": "US label copy of intrathecal baclofen (overdose section)",
    "FPN": "FPnotebook, baclofen poisoning",
    "NSN": "Neurosurgery notes, baclofen pharmacology",
    "B-DOSE": "Saulino et al. Best practices for ITB: dosing. Neuromodulation 2016;19(6):623-31",
    "B-TROUBLE": "Saulino et al. Best practices for ITB: troubleshooting. Neuromodulation 2016;19(6):632-41",
    "HEETLA09": "Heetla et al. Spinal Cord 2009 (dose rise before revision for mechanical failure), PMID 19333246",
    "B-SCREEN": "Boster et al. Best practices for ITB: screening test. Neuromodulation 2016;19(6):616-22",
    "CMSC-Q": "CMSC 2015 abstract 3442",
    "CMSC-QN": "CMSC 2015 abstract 3439",
    "ORDIA": "Ordia & Vaisman, Neurology Clinical Practice letter",
    "DVORAK": "Dvorak, McGuire, Nelson. PM&R 2010",
    "COFFEY02": "Coffey et al. Arch Phys Med Rehabil 2002;83:735-41",
    "MEYTHALER03": "Meythaler et al. Arch Phys Med Rehabil 2003;84:638-42",
    "STET15": "Stetkarova et al. Pain Physician 2015;18:E633",
    "STET10": "Stetkarova et al. Neurorehabil Neural Repair 2010 (complications review)",
    "NSWIKI": "Neurosurgery wiki, intrathecal baclofen withdrawal",
    "NINDS": "NINDS common data elements, Penn Spasm Frequency Scale",
    "MAS-Y": "Modified Ashworth Scale (slide copy)",
    "MAS-G": "Modified Ashworth Scale (encyclopaedia entry)",
    "PENN92": "Penn et al. J Neurosurg 1992;77:236-40",
    "PENN87": "Penn & Kroin. J Neurosurg 1987;66:181-5",
    "EJCP": "Intrathecal baclofen bolus pharmacokinetics, Eur J Clin Pharmacol",
    "KROIN93": "Kroin et al. Neurosurgery 1993;33:226-30",
    "HEETLA": "Heetla et al. Br J Clin Pharmacol 2016",
    "ALBRIGHT07": "Albright et al. Dev Med Child Neurol 2007",
    "ODD91": "Intrathecal baclofen overdose: 7 events in 5 patients (1991)",
    "SCHIESS": "Schiess et al. Neuromodulation 2020 (ITB registry)",
    "FELLER": "Feller et al. Neuromodulation 2021;24:1176 (Ascenda cohort)",
    "BRB18": "Brain and Behavior 2018 (Austrian ITB complications)",
    "CP-PMC": "Paediatric cerebral palsy ITB complications (PMC6808077)",
    "NAREN": "Narendran et al. (ITB implant rates in England)",
    "MATHUR": "Mathur et al. PM&R (ITB after 10 years)",
    "SPAIN2000": "Neuromodulation 2000;3:175 (dose over the first year)",
    "APMR94": "Arch Phys Med Rehabil 1994 (tolerance)",
    "STATPEARLS": "StatPearls, intrathecal baclofen",
    "ANESKEY": "Aneskey, intrathecal pump malfunction chapter",
    "BLOG09": "Patient blog quoting Medtronic (2009)",
    # safety-requirements.md anchors
    "IEC-60601-1-8": "IEC 60601-1-8 alarm priority table (paraphrase, safety-requirements AL-1)",
    "GIP": "Generic Infusion Pump hazard analysis and safety requirements (UPenn 2009)",
    "ISMP": "ISMP reports: flex-mode and error-prone dose designations",
    "THIMBLEBY": "Thimbleby & Cairns 2010, J R Soc Interface (number entry)",
    "TGA-TUBING": "TGA RC-2017-RN-00065-1: SynchroMed II tubing volume 0.199 → 0.140 mL",
    "ASVS": "OWASP ASVS 4.0 level 2",
    "CFR-11": "21 CFR 11.10 audit trails",
    "HIPAA": "45 CFR 164.312 technical safeguards",
    "SQLITE-DOCS": "SQLite documentation: WAL, synchronous, corruption",
    "JARKMS20": "J Ark Med Soc 2020 case report: withdrawal after pump replacement, oral and "
                "intrathecal baclofen not reconciled",
    # refill-clinic operations and FHIR exchange (issue 13; clinical-facts 9.5, 9.6, 9.8, 9.9)
    "KIRKER25": "Kirker et al. 2025, doi 10.1177/27536351251341016 (UK ITB services FoI survey)",
    "GOUDMAN21": "Goudman et al. 2021, PMC8617747 (home refills: median 26 min, all preferred home)",
    "REHAB-IG": "Rehab-IG FHIR guide, CodeSystem mas-score (GitHub)",
    "HC195": "HealthChain pull request 195 (FHIR R4 vs R5 models)",
    "ASSUMED": "No public source: a thecal assumption, marked as such and overridable",
}


def check_source(key: str) -> str:
    """Return ``key`` if it is a known source key, else raise ``KeyError``.

    Used at import time by modules that encode numbers, so a typo fails the tests at once.
    """
    if key not in SOURCES:
        raise KeyError(f"unknown source key {key!r}; add it to thecal.sources.SOURCES")
    return key
