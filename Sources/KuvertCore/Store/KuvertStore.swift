import Foundation

/// Every store capability Kuvert uses.
public typealias KuvertStore = ListStore & SubscriptionStore & SubscriberStore & PreferenceStore & AddressChangeStore & OutboxStore & CampaignStore
    & PrivacyStore
    & PrivacyRequestStore
    & RetentionStore
    & StoreHealth & DeliveryStore & BounceStore & APITokenStore & WebhookStore & RateLimitSharing & SharedKeys & TermsChangeStore
