"""Excel/CSV import into the customer ledger.

    reading     streams rows out of an uploaded csv or xlsx (never the whole file in memory)
    mapping     which column is which field: known office headers, then the user's choice
    validation  one row in, a clean person or the reasons it was rejected (user's language)
    pipeline    chunked, resumable writing: dedup, bulk inserts, progress, rejected rows
    services    the business actions (create a job, set its mapping, start it)
    selectors   the jobs a user may see, the preview
    errorsheet  rejected rows back as a formula-safe xlsx with a reason column
    tasks       the background task that runs a job
"""
