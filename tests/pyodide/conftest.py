"""Terminal summary for tests/pyodide: the in-Pyodide pytest result line of every module."""


def pytest_terminal_summary(terminalreporter):
    lines, header = [], None
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == "pyodide_summary" and report.when == "call":
                    lines.append(value)
                elif key == "pyodide_versions":
                    header = value
    if lines:
        terminalreporter.write_sep("=", f"inside Pyodide ({header})" if header else "inside Pyodide")
        for line in sorted(lines):
            terminalreporter.write_line(line)
