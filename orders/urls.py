from django.urls import path

from . import payment_views, views

app_name = "orders"

urlpatterns = [
    path("shop/", views.shop, name="shop"),
    path("shop/<slug:slug>/", views.product_detail, name="product"),
    path("cart/", views.cart_view, name="cart"),
    path("cart/add/<int:product_id>/", views.cart_add, name="cart_add"),
    path("cart/update/<int:product_id>/", views.cart_update, name="cart_update"),
    path("cart/remove/<int:product_id>/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="list"),
    path("orders/<str:number>/", views.order_detail, name="detail"),
    path("orders/<str:number>/receipt/", views.order_receipt, name="receipt"),
    path("orders/<str:number>/status/", views.order_status, name="status"),
    path(
        "orders/<str:number>/credit-notes/<str:credit_note>/",
        views.credit_note,
        name="credit_note",
    ),
    path("orders/<str:number>/pay/", views.order_pay, name="pay"),
    path("orders/<str:number>/cancel/", views.order_cancel, name="cancel"),
    path("orders/<str:number>/documents/", views.document_upload, name="document_upload"),
    path("payments/return/", payment_views.payment_return, name="payment_return"),
    path("payments/webhook/", payment_views.payment_webhook, name="payment_webhook"),
]
