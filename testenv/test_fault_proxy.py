import json
import unittest

from fault_proxy import request_key

REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews?"


def review(**attributes):
    return json.dumps({"kind": "SelfSubjectAccessReview", "spec": {"resourceAttributes": attributes}}).encode()


class RequestKeyTest(unittest.TestCase):
    def test_a_review_is_told_apart_by_what_it_asks(self):
        patch = request_key("POST", REVIEWS, review(verb="patch", resource="resourcequotas", name="q", namespace="ns"))
        create = request_key("POST", REVIEWS, review(verb="create", group="batch", resource="jobs"))
        self.assertEqual(patch, REVIEWS + "#patch:/resourcequotas//q")
        self.assertEqual(create, REVIEWS + "#create:batch/jobs//")

    def test_other_requests_are_their_path(self):
        self.assertEqual(request_key("GET", "/api/v1/pods?limit=500", None), "/api/v1/pods?limit=500")
        body = json.dumps({"metadata": {"name": "x"}}).encode()
        self.assertEqual(request_key("POST", "/api/v1/namespaces/n/configmaps", body), "/api/v1/namespaces/n/configmaps")

    def test_an_unreadable_review_body_is_its_path(self):
        self.assertEqual(request_key("POST", REVIEWS, b"{not json"), REVIEWS)
        self.assertEqual(request_key("POST", REVIEWS, json.dumps({"spec": {}}).encode()), REVIEWS)


if __name__ == "__main__":
    unittest.main()
