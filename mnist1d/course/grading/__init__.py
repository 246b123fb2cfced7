"""Grading a class's submissions that nobody trusts.

    python -m mnist1d.course.grading BUNDLE SUBMISSIONS -o gradebook.csv

- :mod:`~mnist1d.course.grading.grader`: runs each submission in a process of
  its own, scores its answers against the hidden tests, writes the gradebook.
- :mod:`~mnist1d.course.grading.submission`: that process: it seals itself off,
  runs the notebook and hands its answers back as JSON.
- :mod:`~mnist1d.course.grading.answers`: answers as plain JSON, so nothing a
  submission made is unpickled by the grader.
- :mod:`~mnist1d.course.grading.sandbox`: Landlock and resource limits.
"""
