#!/usr/bin/python3
"""The Google double against the Cloud SQL Admin API's published model (ctest
gcp_double_faithfulness): the routes it serves exist in the API, the instances and operations it
answers with have only the API's fields with the API's types, and the model check itself catches
an answer that strays (so the double cannot drift from Google's API unnoticed).
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gcp_double  # noqa: E402
import sqladmin_model  # noqa: E402

MODEL = os.path.join(HERE, "..", "..", ".cache", "sqladmin", "v1.ts")


class ModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isfile(MODEL):
            raise RuntimeError(f"{MODEL} missing: run scripts/install-deps.sh")
        cls.model = sqladmin_model.Model(MODEL)
        seed = {"sqladmin_model": MODEL,
                "instances": [{"project": "p", "name": "i", "database_version": "POSTGRES_15",
                               "flags": {"cloudsql.logical_decoding": "on"}}],
                "operations": [{"project": "p", "name": "o", "operation_type": "CREATE",
                                "target_id": "i", "error": {"code": "X", "message": "m"}}]}
        cls.double = gcp_double.Double(seed, os.devnull)
        cls.double.endpoint = "http://127.0.0.1:1"

    def test_served_routes_are_the_apis(self):
        for verb, path in [("GET", "/v1/projects/p/instances/i"),
                           ("GET", "/v1/projects/p/operations/o")]:
            self.assertIsNotNone(self.model.route(verb, path), path)
        self.assertIsNone(self.model.route("GET", "/v1/projects/p/instance/i"))
        self.assertIsNone(self.model.route("PUT", "/v1/projects/p/operations/o"))

    def test_answers_fit_the_model(self):
        instance = self.double.instance_resource(self.double.seed["instances"][0])
        self.assertEqual(self.model.problems(instance, "DatabaseInstance"), [])
        operation = self.double.operation_resource(self.double.seed["operations"][0])
        self.assertEqual(operation["status"], "DONE")
        self.assertEqual(self.model.problems(operation, "Operation"), [])

    def test_the_check_catches_what_strays(self):
        instance = self.double.instance_resource(self.double.seed["instances"][0])
        instance["settings"]["dataDiskSizeGb"] = 10            # int64: a string in JSON
        instance["settings"]["databaseFlags"][0]["val"] = "on"  # no such field
        instance["ipAddresses"] = {"type": "PRIMARY"}           # a list in the API
        self.assertEqual(sorted(self.model.problems(instance, "DatabaseInstance")), [
            "$.ipAddresses: must be a list (Schema$IpMapping[])",
            "$.settings.dataDiskSizeGb: must be a string (int64 values are strings in this API)",
            "$.settings.databaseFlags[0].val: not a field of DatabaseFlags"])


if __name__ == "__main__":
    unittest.main()
