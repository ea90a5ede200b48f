import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertWeb
